#include "core/replica/receive_feed.h"

#include "core/base/error.h"
#include "core/base/file_io.h"

#include <chrono>

namespace sc {

namespace {
std::int64_t steadyNanoseconds() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
} // namespace

ReceiveFeed::ReceiveFeed(int receiveStdin, std::optional<TransferChecksum> checksum, std::vector<GatedBlock> blocks,
                         StreamGate::Hooks hooks, std::uint64_t maxXattrBytes)
    : stdin_(receiveStdin),
      gate_(std::move(blocks), std::move(hooks), [this](std::span<const std::uint8_t> bytes) { toReceive(bytes); },
            maxXattrBytes) {
    if (checksum)
        digest_.emplace(*checksum);
}

ReceiveFeed::~ReceiveFeed() = default;

void ReceiveFeed::write(std::span<const std::uint8_t> raw) {
    if (digest_)
        digest_->update(raw);
    if (!refusal_.empty() || writeError_)
        return; // keep hashing: a corrupted stream must be named as such at the end
    try {
        gate_.feed(raw);
    } catch (const Error& e) {
        refusal_ = e.what();
    }
}

void ReceiveFeed::finish() {
    if (!refusal_.empty() || writeError_)
        return;
    try {
        gate_.finish();
    } catch (const Error& e) {
        refusal_ = e.what();
    }
}

double ReceiveFeed::secondsBlocked() const {
    std::int64_t since = writingSince_.load();
    return since == 0 ? 0.0 : static_cast<double>(steadyNanoseconds() - since) / 1e9;
}

void ReceiveFeed::toReceive(std::span<const std::uint8_t> bytes) {
    if (writeError_)
        return;
    writingSince_ = steadyNanoseconds();
    writeError_ = tryWriteAll(stdin_, bytes.data(), bytes.size());
    writingSince_ = 0;
}

} // namespace sc
