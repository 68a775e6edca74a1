#pragma once
// An exclusive lock on a chain (or a replica target) for operations that change it.
#include "core/base/file_io.h"

#include <string>

namespace sc {

class ChainLock {
public:
    // Waits up to `waitSeconds` for the lock, then throws sc::Error (ExitCode::Busy).
    ChainLock(const std::string& lockFile, const std::string& what, double waitSeconds = 30.0);
    ChainLock(const ChainLock&) = delete;
    ChainLock& operator=(const ChainLock&) = delete;

private:
    FileDescriptor fd_; // closing it releases the flock
};

} // namespace sc
