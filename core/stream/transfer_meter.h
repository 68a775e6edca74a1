#pragma once
// Progress of a transfer: bytes, a rate over a sliding window, and an ETA.
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

namespace sc {

struct TransferProgress {
    std::uint64_t bytesDone = 0;
    std::uint64_t bytesTotal = 0; // 0 = unknown
    double rate = 0;              // bytes per second over the last few seconds
    double etaSeconds = -1;       // -1 = unknown
    double elapsedSeconds = 0;
};

class TransferMeter {
public:
    using Clock = std::function<double()>; // monotonic seconds
    explicit TransferMeter(std::uint64_t bytesTotal, Clock clock = {});
    void add(std::uint64_t bytes);
    void setTotal(std::uint64_t bytesTotal);
    TransferProgress snapshot() const;

private:
    Clock clock_;
    double start_;
    mutable std::mutex mutex_;
    std::uint64_t done_ = 0;
    std::uint64_t total_;
    std::deque<std::pair<double, std::uint64_t>> samples_; // (time, bytesDone)
};

std::string formatBytes(std::uint64_t bytes);
std::string formatRate(double bytesPerSecond);
std::string formatDuration(double seconds);

} // namespace sc
