#include "core/agent/peer_watch.h"

#include <cerrno>
#include <cstdint>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace sc {

PeerWatch::PeerWatch(int senderFd, std::atomic<bool>& gone) : wake_(::eventfd(0, EFD_CLOEXEC)) {
    thread_ = std::thread([this, senderFd, &gone] {
        // Only a hang-up counts: a sender may already have written its next frame.
        pollfd fds[2] = {{senderFd, POLLRDHUP, 0}, {wake_.get(), POLLIN, 0}};
        while (::poll(fds, wake_ ? 2 : 1, wake_ ? -1 : 100) >= 0 || errno == EINTR) {
            if (fds[0].revents & (POLLHUP | POLLRDHUP | POLLERR)) {
                gone = true;
                return;
            }
            if (stop_ || (wake_ && (fds[1].revents & POLLIN)))
                return;
        }
    });
}

PeerWatch::~PeerWatch() {
    stop_ = true;
    if (wake_) {
        std::uint64_t one = 1;
        (void)::write(wake_.get(), &one, sizeof one); // ends the watch at once, not at its next poll
    }
    thread_.join();
}

} // namespace sc
