#pragma once
// Child processes started from an argv vector: never through a shell.
#include "core/base/file_io.h"

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sc {

// Pipe capacity for bulk streams (F_SETPIPE_SZ): Linux's default pipe-max-size.
constexpr int kStreamPipeBytes = 1 << 20;

struct ProcessResult {
    int exitCode = -1;   // valid when signal == 0
    int signal = 0;      // the signal that ended the process, if any
    std::string errors;  // what the process wrote to stderr (trimmed, last 4 KiB)
    bool ok() const { return signal == 0 && exitCode == 0; }
    std::string describe() const; // "exit 1: <stderr>" / "killed by signal 9"
};

class Subprocess {
public:
    struct Options {
        bool pipeStdin = false;  // else /dev/null
        bool pipeStdout = false; // else inherited stderr-free /dev/null
        std::string workingDirectory;
    };
    Subprocess(const std::vector<std::string>& argv, const Options& options);
    ~Subprocess(); // kills and reaps a child that is still running
    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;

    int stdinFd() const { return stdin_.get(); }
    int stdoutFd() const { return stdout_.get(); }
    void closeStdin();
    void closeStdout();
    void kill(int signal);
    ProcessResult wait(); // may be called again: returns the same result
    pid_t pid() const { return pid_; }
    const std::string& program() const { return program_; }

private:
    pid_t pid_ = -1;
    FileDescriptor stdin_;
    FileDescriptor stdout_;
    FileDescriptor stderr_; // memfd collecting the child's stderr
    std::string program_;
    std::optional<ProcessResult> finished_;
};

// Run to completion, returning stdout; throws sc::Error "<what>: <program> exit N: <stderr>" on failure.
std::string runCommand(const std::vector<std::string>& argv, const std::string& what);

} // namespace sc
