#include "core/peer_watch.h"

#include <poll.h>

namespace sc {

PeerWatch::PeerWatch(int senderFd, std::atomic<bool>& gone) {
    thread_ = std::thread([this, senderFd, &gone] {
        while (!stop_) {
            // Only a hang-up counts: a sender may already have written its next frame.
            pollfd p{senderFd, POLLRDHUP, 0};
            if (::poll(&p, 1, 100) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR))) {
                gone = true;
                return;
            }
        }
    });
}

PeerWatch::~PeerWatch() {
    stop_ = true;
    thread_.join();
}

} // namespace sc
