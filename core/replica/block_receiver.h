#pragma once
// The receiving end of a stream, on the replica's own machine (the agent, or a
// local target): checks every announced header before anything is received,
// feeds the raw send stream through the StreamGate to a confined `btrfs receive` in a
// private staging directory (spooling it when asked, so a broken transfer can resume),
// checks the stream digest, then per block what the staging holds, the received UUID,
// read-only flag, that it was built on this replica's own parent block, the header
// directory and the footprint (re-hashed from the disk, bounded by the signed header),
// and only then publishes it under blocks/.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/file_io.h"
#include "core/base/hash.h"
#include "core/base/process.h"
#include "core/btrfs/subvolumes.h"
#include "core/footprint/recorded_footprint.h"
#include "core/ledger/block_header.h"
#include "core/ledger/chain_identity.h"
#include "core/replica/receive_watchdog.h"
#include "core/replica/replica_target.h"
#include "core/replica/spool_window.h"
#include "core/replica/stream_gate.h"

namespace sc {

class FanOut;
class ReceiveFeed;

struct IncomingBlock {
    std::uint64_t height = 0;
    btrfs::Uuid uuid{};                  // the primary snapshot's UUID: the received_uuid to expect
    BlockHeader header;                  // signed; checked before the receive starts
    std::optional<std::uint64_t> parent; // the replica block this one is incremental from
};

struct SpoolOptions {
    std::string file;            // empty: no spool
    std::uint64_t resumeFrom = 0; // bytes of `file` already trusted; replayed before live data
    // Spooling stops (keeping the prefix it has) at the first 32 MiB of the stream that the
    // link delivers faster than this (bytes/s; 0: spool at any rate; see spool_window.h).
    double stopAboveBytesPerSecond = 0;
};

class BlockReceiver {
public:
    // `binding` is the replica's pinned chain (id, key, footprint settings). Throws sc::Error
    // before starting anything if a header is not this chain's, not signed by its key,
    // not linked to its predecessor, or a block of that height is already there.
    // `checksum`: the transfer checksum finish() is given to check; none: it is given none.
    BlockReceiver(const LocalReplica& replica, const ChainIdentity& binding, std::vector<IncomingBlock> blocks,
                  SpoolOptions spool, std::optional<TransferChecksum> checksum,
                  ReceiveLimits limits = ReceiveLimits::fromEnvironment());
    ~BlockReceiver();
    BlockReceiver(const BlockReceiver&) = delete;
    BlockReceiver& operator=(const BlockReceiver&) = delete;

    void write(std::span<const std::uint8_t> raw);
    void write(std::string&& raw); // the same, taking the buffer instead of copying it
    // All data delivered: check byte count and transfer checksum (when given), then check and
    // publish each block in order. Returns the published heights. Throws naming the block and check.
    std::vector<std::uint64_t> finish(std::optional<std::uint64_t> rawBytes = {},
                                      const std::string& rawChecksumHex = {});
    // Stop and remove the staging directory; the spool stays when `keepSpool` (a broken link).
    void abort(bool keepSpool) noexcept;
    std::uint64_t bytesReceived() const { return bytes_; }

private:
    // The replica's copy of a block's parent: on the replica, or staged earlier in this
    // stream (then its UUID and id are known once receive made it).
    struct ParentCopy {
        bool inStream = false;
        btrfs::Uuid primaryUuid{}; // what the stream names it by
        btrfs::Uuid ownUuid{};
        std::uint64_t subvolumeId = 0;
    };
    void checkAnnounced() const;
    std::vector<GatedBlock> gatedBlocks();
    btrfs::Uuid parentCopyUuid(std::size_t index);
    std::optional<std::string> cloneFromParent(std::size_t index);
    void waitForSubvolume(const std::string& path) const;
    void checkStagingHoldsOnlyTheBlocks() const;
    RecordedFootprint footprintOf(const IncomingBlock& block, std::size_t index, const std::string& staged);
    void restoreSetIdBitsChownCleared(const IncomingBlock& block, std::size_t index, const std::string& staged);
    void spool(std::span<const std::uint8_t> raw);
    void feed(std::shared_ptr<const std::string> raw);
    void checkAndPublish(const IncomingBlock& block, std::size_t index);
    std::string where(const IncomingBlock& block) const;

    const LocalReplica& replica_;
    ChainIdentity binding_;
    std::vector<IncomingBlock> blocks_;
    std::vector<std::optional<ParentCopy>> parents_; // per block; written by the gate's hooks
    SpoolOptions spool_;
    FileDescriptor spoolFd_;
    bool spooling_ = false;
    SpoolWindow spoolWindow_;      // live (not replayed) arrivals: when spooling stops
    std::string stagingDir_;
    std::unique_ptr<Subprocess> receive_;
    std::unique_ptr<ReceiveFeed> input_; // receive's stdin, the transfer checksum and the gate
    std::optional<TransferChecksum> checksum_;
    std::unique_ptr<FanOut> feeder_;      // runs input_ on a thread of its own
    ReceiveLimits limits_;
    std::unique_ptr<ReceiveWatchdog> watchdog_;
    std::uint64_t bytes_ = 0;
    std::uint64_t maxStreamBytes_ = 0; // what the announced headers allow a stream to be
};

} // namespace sc
