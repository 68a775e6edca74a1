#pragma once
// The receiving end of a stream, on the replica's own machine (the agent, or a
// local target): checks every announced header before anything is received,
// feeds the raw send stream to a confined `btrfs receive` in a private staging
// directory (spooling it when asked, so a broken transfer can resume), checks the
// stream digest, then per block the received UUID, read-only flag, header and
// footprint, and only then publishes it under blocks/.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/block_header.h"
#include "core/btrfs.h"
#include "core/chain_identity.h"
#include "core/process.h"
#include "core/replica_target.h"

namespace sc {

class FanOut;
class ReceiveInput;

struct IncomingBlock {
    std::uint64_t height = 0;
    btrfs::Uuid uuid{};                  // the primary snapshot's UUID: the received_uuid to expect
    BlockHeader header;                  // signed; checked before the receive starts
    std::optional<std::uint64_t> parent; // the replica block this one is incremental from
};

struct SpoolOptions {
    std::string file;            // empty: no spool
    std::uint64_t resumeFrom = 0; // bytes of `file` already trusted; replayed before live data
    // Spooling stops (keeping the prefix it has) once the stream has arrived faster than
    // this on average (bytes/s; 0: spool at any rate).
    double stopAboveBytesPerSecond = 0;
};

class BlockReceiver {
public:
    // `binding` is the replica's pinned chain (id, key, footprint settings). Throws sc::Error
    // before starting anything if a header is not this chain's, not signed by its key,
    // not linked to its predecessor, or a block of that height is already there.
    enum class Digest { Compute, Skip }; // Skip: finish() is never given a digest to check
    BlockReceiver(const LocalReplica& replica, const ChainIdentity& binding, std::vector<IncomingBlock> blocks,
                  SpoolOptions spool = {}, Digest digest = Digest::Compute);
    ~BlockReceiver();
    BlockReceiver(const BlockReceiver&) = delete;
    BlockReceiver& operator=(const BlockReceiver&) = delete;

    void write(std::span<const std::uint8_t> raw);
    void write(std::string&& raw); // the same, taking the buffer instead of copying it
    // All data delivered: check byte count and digest (when given), then check and publish
    // each block in order. Returns the published heights. Throws naming the block and check.
    std::vector<std::uint64_t> finish(std::optional<std::uint64_t> rawBytes = {},
                                      const std::string& rawSha256Hex = {});
    // Stop and remove the staging directory; the spool stays when `keepSpool` (a broken link).
    void abort(bool keepSpool) noexcept;
    std::uint64_t bytesReceived() const { return bytes_; }

private:
    void checkAnnounced() const;
    void spool(std::span<const std::uint8_t> raw);
    void feed(std::shared_ptr<const std::string> raw);
    void checkAndPublish(const IncomingBlock& block, std::size_t index);
    std::string where(const IncomingBlock& block) const;

    const LocalReplica& replica_;
    ChainIdentity binding_;
    std::vector<IncomingBlock> blocks_;
    SpoolOptions spool_;
    int spoolFd_ = -1;
    bool spooling_ = false;
    std::uint64_t liveBytes_ = 0; // arrived in this session (not replayed) while spooling
    std::chrono::steady_clock::time_point liveStart_;
    std::string stagingDir_;
    std::unique_ptr<Subprocess> receive_;
    std::unique_ptr<ReceiveInput> input_; // receive's stdin, the stream digest and its commands
    std::unique_ptr<FanOut> feeder_;      // runs input_ on a thread of its own
    std::uint64_t bytes_ = 0;
};

} // namespace sc
