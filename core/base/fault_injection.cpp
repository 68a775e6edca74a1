#include "core/base/fault_injection.h"

#include <csignal>
#include <cstdlib>
#include <cstring>

namespace sc {

extern const bool kFaultInjectionArmed; // core/base/faults/armed.cpp or inert.cpp, chosen at link time

bool faultActive(const char* point) {
    if (!kFaultInjectionArmed)
        return false;
    const char* wanted = std::getenv("STREAMCHAIN_FAULT");
    return wanted != nullptr && std::strcmp(wanted, point) == 0;
}

void faultPoint(const char* point) {
    if (faultActive(point))
        std::raise(SIGKILL);
}

} // namespace sc
