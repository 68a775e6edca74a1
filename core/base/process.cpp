#include "core/base/process.h"

#include "core/base/error.h"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace sc {

std::string ProcessResult::describe() const {
    std::string text = signal != 0 ? "killed by signal " + std::to_string(signal) : "exit " + std::to_string(exitCode);
    if (!errors.empty())
        text += ": " + errors;
    return text;
}

namespace {
struct SpawnActions {
    posix_spawn_file_actions_t actions;
    SpawnActions() { posix_spawn_file_actions_init(&actions); }
    ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
};

void closeFd(int& fd) {
    if (fd >= 0)
        ::close(fd);
    fd = -1;
}
} // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv, const Options& options) {
    if (argv.empty())
        throw Error("internal: empty command line");
    program_ = argv.front();
    int inPipe[2] = {-1, -1};
    int outPipe[2] = {-1, -1};
    if (options.pipeStdin && pipe2(inPipe, O_CLOEXEC) != 0)
        throwSystemError("cannot create pipe for " + program_, errno);
    if (options.pipeStdout && pipe2(outPipe, O_CLOEXEC) != 0)
        throwSystemError("cannot create pipe for " + program_, errno);
    stderr_ = memfd_create("stderr", MFD_CLOEXEC);
    if (stderr_ < 0)
        throwSystemError("cannot capture stderr of " + program_, errno);

    SpawnActions spawn;
    if (options.pipeStdin)
        posix_spawn_file_actions_adddup2(&spawn.actions, inPipe[0], 0);
    else
        posix_spawn_file_actions_addopen(&spawn.actions, 0, "/dev/null", O_RDONLY, 0);
    if (options.pipeStdout)
        posix_spawn_file_actions_adddup2(&spawn.actions, outPipe[1], 1);
    else
        posix_spawn_file_actions_addopen(&spawn.actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&spawn.actions, stderr_, 2);
    if (!options.workingDirectory.empty())
        posix_spawn_file_actions_addchdir_np(&spawn.actions, options.workingDirectory.c_str());

    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawnp(&pid_, program_.c_str(), &spawn.actions, nullptr, args.data(), environ);
    if (options.pipeStdin)
        ::close(inPipe[0]);
    if (options.pipeStdout)
        ::close(outPipe[1]);
    stdin_ = inPipe[1];
    stdout_ = outPipe[0];
    if (rc != 0) {
        closeFd(stdin_);
        closeFd(stdout_);
        closeFd(stderr_);
        pid_ = -1;
        throwSystemError("cannot start " + program_, rc);
    }
}

Subprocess::~Subprocess() {
    closeFd(stdin_);
    closeFd(stdout_);
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    closeFd(stderr_);
}

void Subprocess::closeStdin() { closeFd(stdin_); }
void Subprocess::closeStdout() { closeFd(stdout_); }

void Subprocess::kill(int signal) {
    if (pid_ > 0)
        ::kill(pid_, signal);
}

ProcessResult Subprocess::wait() {
    if (finished_)
        return *finished_;
    ProcessResult result;
    closeFd(stdin_);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0) {
        if (errno != EINTR)
            throwSystemError("cannot wait for " + program_, errno);
    }
    pid_ = -1;
    if (WIFSIGNALED(status))
        result.signal = WTERMSIG(status);
    else
        result.exitCode = WEXITSTATUS(status);

    off_t size = lseek(stderr_, 0, SEEK_END);
    constexpr off_t keep = 4096;
    off_t start = size > keep ? size - keep : 0;
    if (size > 0) {
        std::string text(static_cast<std::size_t>(size - start), '\0');
        ssize_t got = pread(stderr_, text.data(), text.size(), start);
        text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
            text.pop_back();
        // One line for the operator: the last line usually says what failed.
        for (char& c : text)
            if (c == '\n')
                c = ' ';
        result.errors = std::move(text);
    }
    closeFd(stderr_);
    finished_ = result;
    return result;
}

std::string runCommand(const std::vector<std::string>& argv, const std::string& what) {
    Subprocess process(argv, {.pipeStdin = false, .pipeStdout = true, .workingDirectory = {}});
    std::string output;
    char buffer[65536];
    while (true) {
        ssize_t n = ::read(process.stdoutFd(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        output.append(buffer, static_cast<std::size_t>(n));
    }
    ProcessResult result = process.wait();
    if (!result.ok())
        throw Error(what + ": " + argv.front() + " " + result.describe());
    return output;
}

} // namespace sc
