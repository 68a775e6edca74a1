#pragma once
// When a replica stops spooling a stream: at the first window of 32 MiB that the link
// delivers faster than the limit. The link's time is the window's time less what the replica
// itself held the stream up (writing the spool, waiting for btrfs receive to take more):
// a stream's small-file prefix arrives only as fast as receive makes files, whatever the link.
// Judged on the average arrival since the start, a 3-replica fan-out's replicas spooled
// 220-320 MB of a 1.26 GB stream each; per window of arrival, still 100-270 MB.
#include <chrono>
#include <cstdint>

namespace sc {

class SpoolWindow {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::uint64_t kWindowBytes = 32u << 20;

    // bytesPerSecond 0: spool at any rate.
    explicit SpoolWindow(double bytesPerSecond) : limit_(bytesPerSecond) {}

    // `bytes` arrived at `now`; false once the link has proven fast (stays false).
    bool keepSpooling(std::uint64_t bytes, Clock::time_point now) {
        if (fast_ || limit_ <= 0)
            return !fast_;
        if (bytes_ == 0) {
            start_ = now;
            heldUp_ = {};
        }
        bytes_ += bytes;
        if (bytes_ < kWindowBytes)
            return true;
        double seconds = std::chrono::duration<double>(now - start_ - heldUp_).count();
        fast_ = static_cast<double>(bytes_) > limit_ * seconds;
        bytes_ = 0;
        return !fast_;
    }

    // The replica held the stream up this long after bytes arrived (not the link's time).
    void heldUp(Clock::duration spent) { heldUp_ += spent; }

private:
    double limit_;
    std::uint64_t bytes_ = 0; // in the current window
    Clock::time_point start_;
    Clock::duration heldUp_{};
    bool fast_ = false;
};

} // namespace sc
