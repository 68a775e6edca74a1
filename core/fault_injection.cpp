#include "core/fault_injection.h"

#ifdef STREAMCHAIN_FAULT_INJECTION
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace sc {

bool faultActive(const char* point) {
    const char* wanted = std::getenv("STREAMCHAIN_FAULT");
    return wanted != nullptr && std::strcmp(wanted, point) == 0;
}

void faultPoint(const char* point) {
    if (faultActive(point))
        std::raise(SIGKILL);
}

} // namespace sc
#endif
