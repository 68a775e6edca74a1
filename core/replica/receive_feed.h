#pragma once
// What flows into `btrfs receive`: hashed for the sender's digest as it arrived, then
// passed through the StreamGate, which lets on only commands a block can honestly hold.
// A StreamSink, so a FanOut lane can run it on a thread of its own: the caller goes back
// to the network while receive creates files.
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/hash.h"
#include "core/replica/stream_gate.h"
#include "core/stream/fan_out.h"

namespace sc {

class ReceiveFeed : public StreamSink {
public:
    // `checksum`: the transfer checksum to take of the stream as it arrives (none: not needed).
    ReceiveFeed(int receiveStdin, std::optional<TransferChecksum> checksum, std::vector<GatedBlock> blocks,
                StreamGate::Hooks hooks, std::uint64_t maxXattrBytes);
    ~ReceiveFeed() override;

    void write(std::span<const std::uint8_t> raw) override; // never throws: failures are kept for finish
    void finish() override;
    void abort() noexcept override {}
    std::string name() const override { return "btrfs receive"; }

    // Read these once the feeding thread has stopped.
    std::string digestHex() { return digest_ ? digest_->finishHex() : std::string(); }
    int writeError() const { return writeError_; } // errno of the first failed write (receive died), or 0
    const std::string& refusal() const { return refusal_; } // why the gate stopped the stream, or empty
    const std::vector<StreamGate::BlockTally>& tallies() const { return gate_.tallies(); }
    // How long the write into receive has been blocked (0 while not writing): receive stuck?
    double secondsBlocked() const;

private:
    void toReceive(std::span<const std::uint8_t> bytes);

    int stdin_;
    int writeError_ = 0;
    std::string refusal_;
    std::optional<TransferHasher> digest_;
    StreamGate gate_;
    std::atomic<std::int64_t> writingSince_{0}; // steady clock, nanoseconds; 0 when idle
};

} // namespace sc
