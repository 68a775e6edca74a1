#include "core/base/error.h"

#include <cstring>

namespace sc {

void throwSystemError(const std::string& what, int errnum, ExitCode code) {
    throw Error(what + ": " + std::strerror(errnum), code);
}

} // namespace sc
