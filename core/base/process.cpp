#include "core/base/process.h"

#include "core/base/error.h"
#include "core/base/file_io.h"

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
} // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv, const Options& options) {
    if (argv.empty())
        throw Error("internal: empty command line");
    program_ = argv.front();
    Pipe inPipe, outPipe;
    if (options.pipeStdin)
        inPipe = openPipe(O_CLOEXEC, "cannot create pipe for " + program_);
    if (options.pipeStdout)
        outPipe = openPipe(O_CLOEXEC, "cannot create pipe for " + program_);
    stderr_.reset(memfd_create("stderr", MFD_CLOEXEC));
    if (!stderr_)
        throwSystemError("cannot capture stderr of " + program_, errno);

    SpawnActions spawn;
    if (options.pipeStdin)
        posix_spawn_file_actions_adddup2(&spawn.actions, inPipe.read.get(), 0);
    else
        posix_spawn_file_actions_addopen(&spawn.actions, 0, "/dev/null", O_RDONLY, 0);
    if (options.pipeStdout)
        posix_spawn_file_actions_adddup2(&spawn.actions, outPipe.write.get(), 1);
    else
        posix_spawn_file_actions_addopen(&spawn.actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&spawn.actions, stderr_.get(), 2);
    if (!options.workingDirectory.empty())
        posix_spawn_file_actions_addchdir_np(&spawn.actions, options.workingDirectory.c_str());

    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawnp(&pid_, program_.c_str(), &spawn.actions, nullptr, args.data(), environ);
    if (rc != 0)
        throwSystemError("cannot start " + program_, rc); // the pipes and the memfd close as we leave
    // The child's ends stay in `inPipe.read`/`outPipe.write` and close here: only the child holds them.
    stdin_ = std::move(inPipe.write);
    stdout_ = std::move(outPipe.read);
}

Subprocess::~Subprocess() {
    stdin_.reset();
    stdout_.reset();
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    stderr_.reset();
}

void Subprocess::closeStdin() { stdin_.reset(); }
void Subprocess::closeStdout() { stdout_.reset(); }

void Subprocess::kill(int signal) {
    if (pid_ > 0)
        ::kill(pid_, signal);
}

ProcessResult Subprocess::wait() {
    if (finished_)
        return *finished_;
    ProcessResult result;
    stdin_.reset();
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

    off_t size = lseek(stderr_.get(), 0, SEEK_END);
    constexpr off_t keep = 4096;
    off_t start = size > keep ? size - keep : 0;
    if (size > 0) {
        std::string text(static_cast<std::size_t>(size - start), '\0');
        ssize_t got = pread(stderr_.get(), text.data(), text.size(), start);
        text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
            text.pop_back();
        // One line for the operator: the last line usually says what failed.
        for (char& c : text)
            if (c == '\n')
                c = ' ';
        result.errors = std::move(text);
    }
    stderr_.reset();
    finished_ = result;
    return result;
}

std::string runCommand(const std::vector<std::string>& argv, const std::string& what) {
    Subprocess process(argv, {.pipeStdin = false, .pipeStdout = true, .workingDirectory = {}});
    std::string output;
    const std::string failure = what + ": cannot read the output of " + argv.front();
    char buffer[65536];
    while (std::size_t n = readSome(process.stdoutFd(), buffer, sizeof buffer, failure))
        output.append(buffer, n);
    ProcessResult result = process.wait();
    if (!result.ok())
        throw Error(what + ": " + argv.front() + " " + result.describe());
    return output;
}

} // namespace sc
