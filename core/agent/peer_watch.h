#pragma once
// Notices, while the agent works on a long request (re-hashing a block, checking a
// received one), that the sender hung up: the agent stops the work, so the replica's
// lock is not held for a sender that is gone.
#include "core/base/file_io.h"

#include <atomic>
#include <thread>

namespace sc {

class PeerWatch {
public:
    PeerWatch(int senderFd, std::atomic<bool>& gone);
    ~PeerWatch();
    PeerWatch(const PeerWatch&) = delete;
    PeerWatch& operator=(const PeerWatch&) = delete;

private:
    FileDescriptor wake_; // an eventfd the destructor writes, so leaving never waits for a poll
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace sc
