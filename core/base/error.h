#pragma once
// One error type for the engine: a one-line message for the operator that
// already carries its context (chain, block, replica, step), plus an exit code.
#include <stdexcept>
#include <string>

namespace sc {

// Exit codes of the streamchain CLI; documented in README.md.
enum class ExitCode : int {
    Ok = 0,
    Failure = 1,        // the operation ran and failed (I/O, btrfs, a target failed)
    Usage = 2,          // bad arguments or bad input (invalid JSON, unknown height)
    NotAChain = 3,      // path is not a chain, not btrfs, or already a chain on init
    VerifyFailed = 4,   // verification found a broken link, bad signature or mismatch
    PartialFailure = 5, // some targets succeeded, others failed
    Busy = 6,           // the chain is locked by another process
    Interrupted = 130,
};

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, ExitCode code = ExitCode::Failure)
        : std::runtime_error(message), code_(code) {}
    ExitCode code() const noexcept { return code_; }

private:
    ExitCode code_;
};

// "what: strerror(errno)" for a failed system call.
[[noreturn]] void throwSystemError(const std::string& what, int errnum, ExitCode code = ExitCode::Failure);

} // namespace sc
