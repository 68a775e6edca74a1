#include "core/replica/receive_watchdog.h"

#include "core/replica/receive_feed.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace sc {

namespace {

std::int64_t nowNanoseconds() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string seconds(double value) { return std::to_string(static_cast<long long>(value + 0.5)) + " s"; }

} // namespace

ReceiveLimits ReceiveLimits::fromEnvironment(const std::atomic<bool>* senderGone) {
    ReceiveLimits limits;
    limits.senderGone = senderGone;
    if (const char* text = std::getenv("STREAMCHAIN_RECEIVE_STALL_SECONDS")) {
        double value = std::atof(text);
        if (value > 0)
            limits.stallSeconds = value;
    }
    return limits;
}

ReceiveWatchdog::ReceiveWatchdog(pid_t receive, const ReceiveFeed& input, ReceiveLimits limits)
    : input_(input), limits_(limits) {
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, receive, 0)));
    if (pidfd_)
        thread_ = std::thread([this] { watch(); });
}

ReceiveWatchdog::~ReceiveWatchdog() {
    stop();
}

void ReceiveWatchdog::stop() {
    stopping_ = true;
    if (thread_.joinable())
        thread_.join();
}

void ReceiveWatchdog::streamEnded() { endedAt_ = nowNanoseconds(); }

bool ReceiveWatchdog::receiveRunning() const {
    if (!pidfd_)
        return true;
    pollfd p{pidfd_.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0; // a pidfd turns readable when the process exits
}

std::string ReceiveWatchdog::reason() const {
    std::lock_guard lock(mutex_);
    return reason_;
}

void ReceiveWatchdog::kill(const std::string& why) {
    {
        std::lock_guard lock(mutex_);
        if (!reason_.empty())
            return;
        reason_ = why;
    }
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
}

void ReceiveWatchdog::watch() {
    while (!stopping_) {
        pollfd p{pidfd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 100) > 0)
            return; // receive exited
        if (limits_.senderGone && limits_.senderGone->load())
            kill("the sender went away");
        else if (input_.secondsBlocked() > limits_.stallSeconds)
            kill("btrfs receive took no input for " + seconds(limits_.stallSeconds) + " (stuck)");
        else if (std::int64_t ended = endedAt_.load();
                 ended != 0 && static_cast<double>(nowNanoseconds() - ended) / 1e9 > limits_.stallSeconds)
            kill("btrfs receive was still running " + seconds(limits_.stallSeconds) + " after the stream ended (stuck)");
    }
}

} // namespace sc
