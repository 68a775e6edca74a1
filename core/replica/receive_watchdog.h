#pragma once
// Bounds the time a `btrfs receive` may hold a replica: it is stopped when it takes no
// input for `stallSeconds` (stuck, e.g. opening a FIFO a crafted stream named as a clone
// source), when it is still running that long after the stream ended, or when the
// sender went away. Signals go through a pidfd, so a reaped child's pid is never hit.
#include "core/base/file_io.h"

#include <atomic>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>

namespace sc {

class ReceiveFeed;

struct ReceiveLimits {
    double stallSeconds = 120;                  // STREAMCHAIN_RECEIVE_STALL_SECONDS overrides
    const std::atomic<bool>* senderGone = nullptr;
    static ReceiveLimits fromEnvironment(const std::atomic<bool>* senderGone = nullptr);
};

class ReceiveWatchdog {
public:
    ReceiveWatchdog(pid_t receive, const ReceiveFeed& input, ReceiveLimits limits);
    ~ReceiveWatchdog();
    ReceiveWatchdog(const ReceiveWatchdog&) = delete;
    ReceiveWatchdog& operator=(const ReceiveWatchdog&) = delete;

    void streamEnded();         // all input delivered: receive should finish soon
    bool receiveRunning() const; // false once the process has exited
    std::string reason() const;  // why it stopped receive, or empty
    void stop();                 // stop watching (before the process is reaped)

private:
    void watch();
    void kill(const std::string& why);

    FileDescriptor pidfd_;
    const ReceiveFeed& input_;
    ReceiveLimits limits_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::int64_t> endedAt_{0};
    mutable std::mutex mutex_;
    std::string reason_;
    std::thread thread_;
};

} // namespace sc
