#include "tests/support/agent_session.h"

#include "core/base/hash.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <xxhash.h>

namespace sctest {

namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point deadlineIn(double seconds) {
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

int millisecondsLeft(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1000));
}

std::string frameHeader(char type, std::size_t size) {
    std::string header(5, '\0');
    header[0] = type;
    for (std::size_t i = 0; i < 4; ++i)
        header[1 + i] = static_cast<char>((size >> (8 * (3 - i))) & 0xff);
    return header;
}

std::string printable(std::string text, std::size_t limit) {
    if (text.size() > limit)
        text = text.substr(0, limit) + "…";
    for (char& c : text)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n')
            c = '?';
    return text;
}

} // namespace

nlohmann::json AgentFrame::json() const {
    auto parsed = nlohmann::json::parse(payload, nullptr, false);
    return parsed.is_discarded() ? nlohmann::json() : parsed;
}

std::string AgentFrame::error() const {
    nlohmann::json reply = json();
    if (reply.is_object() && reply.contains("error") && reply["error"].is_string())
        return reply["error"].get<std::string>();
    return payload;
}

std::string AgentFrame::describe() const {
    return std::string(1, type) + " " +
           (type == 'D' ? std::to_string(payload.size()) + " bytes" : printable(payload, 600));
}

AgentSession::AgentSession(const std::string& root) {
    ::signal(SIGPIPE, SIG_IGN); // a write to an agent that died must fail, not kill the test
    int input[2], output[2];
    if (::pipe2(input, O_CLOEXEC) != 0 || ::pipe2(output, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("agent session: pipe: ") + std::strerror(errno));
    err_ = ::memfd_create("agent-stderr", MFD_CLOEXEC);
    if (err_ < 0)
        throw std::runtime_error(std::string("agent session: memfd_create: ") + std::strerror(errno));
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0)
        throw std::runtime_error(std::string("agent session: fork: ") + std::strerror(errno));
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
        ::dup2(input[0], STDIN_FILENO);
        ::dup2(output[1], STDOUT_FILENO);
        ::dup2(err_, STDERR_FILENO);
        ::signal(SIGPIPE, SIG_DFL);
        const char* argv[] = {STREAMCHAIN_CLI, "agent", "--root", root.c_str(), nullptr};
        ::execv(STREAMCHAIN_CLI, const_cast<char* const*>(argv));
        ::_exit(127);
    }
    ::close(input[0]);
    ::close(output[1]);
    in_ = input[1];
    out_ = output[0];
    ::fcntl(in_, F_SETFL, O_NONBLOCK);
    ::fcntl(out_, F_SETFL, O_NONBLOCK);
}

AgentSession::~AgentSession() {
    kill();
    if (out_ >= 0)
        ::close(out_);
    if (err_ >= 0)
        ::close(err_);
}

void AgentSession::sendRaw(const std::string& bytes, double timeout) {
    if (in_ < 0)
        throw std::runtime_error("agent session: input already closed");
    const auto deadline = deadlineIn(timeout);
    for (std::size_t done = 0; done < bytes.size();) {
        ssize_t n = ::write(in_, bytes.data() + done, bytes.size() - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            throw std::runtime_error("agent session: the agent stopped reading (" +
                                     std::string(std::strerror(errno)) + "; " + exitDescription() +
                                     "; stderr: " + errors() + ")");
        if (Clock::now() >= deadline)
            throw AgentTimeout("agent session: the agent took no input for " + std::to_string(timeout) +
                               " s (" + exitDescription() + ")");
        pollfd fd{in_, POLLOUT, 0};
        ::poll(&fd, 1, std::max(1, millisecondsLeft(deadline)));
    }
}

void AgentSession::sendFrame(char type, const std::string& payload, double timeout) {
    sendRaw(frameHeader(type, payload.size()) + payload, timeout);
}

void AgentSession::hello(const nlohmann::json& chain, const nlohmann::json& protocol) {
    sendJson(
        'H',
        {{"magic", "streamchain"}, {"protocol", protocol}, {"version", "hostile-test"}, {"chain", chain}});
}

void AgentSession::helloOffering(const nlohmann::json& chain, const nlohmann::json& protocols) {
    sendJson('H', {{"magic", "streamchain"},
                   {"protocol", 1},
                   {"protocols", protocols},
                   {"version", "hostile-test"},
                   {"chain", chain}});
}

void AgentSession::sendData(const std::string& stream, std::size_t piece) {
    for (std::size_t at = 0; at < stream.size(); at += piece)
        sendFrame('D', stream.substr(at, piece));
}

void AgentSession::sendEnd(std::uint64_t rawBytes, const std::string& rawSha256) {
    sendJson('E', {{"raw_bytes", rawBytes}, {"raw_sha256", rawSha256}});
}

void AgentSession::sendEnd(const std::string& stream) {
    sendEnd(stream.size(), sha256Hex(stream));
}

std::optional<AgentFrame> AgentSession::read(const std::string& awaiting, double timeout) {
    const auto deadline = deadlineIn(timeout);
    while (true) {
        if (buffered_.size() >= 5) {
            std::size_t size = 0;
            for (std::size_t i = 1; i < 5; ++i)
                size = (size << 8) | static_cast<unsigned char>(buffered_[i]);
            if (buffered_.size() >= 5 + size) {
                AgentFrame frame{buffered_[0], buffered_.substr(5, size)};
                buffered_.erase(0, 5 + size);
                return frame;
            }
        }
        char chunk[65536];
        ssize_t n = ::read(out_, chunk, sizeof chunk);
        if (n > 0) {
            buffered_.append(chunk, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            waitExit(2); // its output closed: let it finish exiting, so messages say how it ended
            if (!buffered_.empty())
                throw std::runtime_error(
                    "agent session: the agent's output ended inside a frame while awaiting " + awaiting +
                    " (" + exitDescription() + ")");
            return std::nullopt;
        }
        if (errno != EAGAIN && errno != EINTR)
            throw std::runtime_error("agent session: read: " + std::string(std::strerror(errno)));
        if (Clock::now() >= deadline)
            throw AgentTimeout("the agent hung: no answer to " + awaiting + " within " +
                               std::to_string(static_cast<int>(timeout)) + " s (" + exitDescription() + ")");
        pollfd fd{out_, POLLIN, 0};
        ::poll(&fd, 1, std::max(1, millisecondsLeft(deadline)));
    }
}

AgentFrame AgentSession::expect(char type, const std::string& awaiting, double timeout) {
    std::optional<AgentFrame> frame = read(awaiting, timeout);
    if (!frame)
        throw std::runtime_error("the agent ended the session while awaiting " + awaiting + " (" +
                                 exitDescription() + "; stderr: " + errors() + ")");
    if (frame->type != type)
        throw std::runtime_error("awaiting " + awaiting + " (a " + std::string(1, type) +
                                 " frame), the agent sent " + frame->describe());
    return *frame;
}

void AgentSession::closeInput() {
    if (in_ >= 0)
        ::close(in_);
    in_ = -1;
}

void AgentSession::reap(bool block) {
    if (pid_ <= 0 || status_)
        return;
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (done == pid_)
        status_ = status;
}

void AgentSession::kill() {
    closeInput();
    reap(false);
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        reap(true);
    }
}

bool AgentSession::alive() {
    reap(false);
    return pid_ > 0 && !status_;
}

bool AgentSession::waitExit(double timeout) {
    const auto deadline = deadlineIn(timeout);
    while (alive()) {
        if (Clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

std::string AgentSession::exitDescription() {
    reap(false);
    if (!status_)
        return "agent still running";
    if (WIFSIGNALED(*status_))
        return "agent killed by signal " + std::to_string(WTERMSIG(*status_));
    return "agent exited with " + std::to_string(WEXITSTATUS(*status_));
}

std::string AgentSession::errors() const {
    off_t size = ::lseek(err_, 0, SEEK_END);
    if (size <= 0)
        return {};
    off_t from = size > 4096 ? size - 4096 : 0;
    std::string text(static_cast<std::size_t>(size - from), '\0');
    ssize_t n = ::pread(err_, text.data(), text.size(), from);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return printable(text, 4096);
}

std::string xxh3Hex(const std::string& bytes) {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits(bytes.data(), bytes.size()));
    return sc::toHex(std::span<const std::uint8_t>(canonical.digest, sizeof canonical.digest));
}

std::string sha256Hex(const std::string& bytes) {
    sc::Hasher hasher(sc::HashAlgorithm::Sha256);
    hasher.update(std::string_view(bytes));
    return hasher.finish().hex();
}

} // namespace sctest
