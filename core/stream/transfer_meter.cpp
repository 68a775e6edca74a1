#include "core/stream/transfer_meter.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace sc {

static constexpr double kWindowSeconds = 3.0;

TransferMeter::TransferMeter(std::uint64_t bytesTotal, Clock clock) : clock_(std::move(clock)), total_(bytesTotal) {
    if (!clock_)
        clock_ = [] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
        };
    start_ = clock_();
    samples_.emplace_back(start_, 0);
}

void TransferMeter::add(std::uint64_t bytes) {
    double now = clock_();
    std::lock_guard lock(mutex_);
    done_ += bytes;
    samples_.emplace_back(now, done_);
    // Keep one sample older than the window so the rate spans the whole window.
    while (samples_.size() > 2 && samples_[1].first < now - kWindowSeconds)
        samples_.pop_front();
}

void TransferMeter::setTotal(std::uint64_t bytesTotal) {
    std::lock_guard lock(mutex_);
    total_ = bytesTotal;
}

TransferProgress TransferMeter::snapshot() const {
    double now = clock_();
    std::lock_guard lock(mutex_);
    TransferProgress p;
    p.bytesDone = done_;
    p.bytesTotal = total_;
    p.elapsedSeconds = now - start_;
    // Bytes over the last window: interpolate the count at the window's start
    // between the samples around it, so a long stall followed by a burst reads right.
    double from = now - kWindowSeconds;
    double baseTime = samples_.front().first;
    double baseBytes = static_cast<double>(samples_.front().second);
    if (baseTime < from) {
        std::size_t i = 0;
        while (i + 1 < samples_.size() && samples_[i + 1].first <= from)
            ++i;
        baseBytes = static_cast<double>(samples_[i].second);
        if (i + 1 < samples_.size()) {
            const auto& [t0, b0] = samples_[i];
            const auto& [t1, b1] = samples_[i + 1];
            baseBytes += static_cast<double>(b1 - b0) * (from - t0) / (t1 - t0);
        }
        baseTime = from;
    }
    double span = now - baseTime;
    if (span > 0.05)
        p.rate = (static_cast<double>(done_) - baseBytes) / span;
    if (total_ > 0) {
        // The total is an estimate: never report negative time left.
        std::uint64_t remaining = total_ > done_ ? total_ - done_ : 0;
        if (remaining == 0)
            p.etaSeconds = 0;
        else if (p.rate > 0)
            p.etaSeconds = static_cast<double>(remaining) / p.rate;
    }
    return p;
}

std::string formatBytes(std::uint64_t bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024)
        return std::to_string(bytes) + " B";
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit >= 3 ? "%.2f %s" : "%.1f %s", value, units[unit]);
    return text;
}

std::string formatRate(double bytesPerSecond) {
    return formatBytes(static_cast<std::uint64_t>(std::max(0.0, bytesPerSecond))) + "/s";
}

std::string formatDuration(double seconds) {
    if (seconds < 0)
        return "?";
    auto s = static_cast<long long>(seconds + 0.5);
    char text[32];
    if (s < 60)
        std::snprintf(text, sizeof text, "%llds", s);
    else if (s < 3600)
        std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
    else
        std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, (s / 60) % 60);
    return text;
}

} // namespace sc
