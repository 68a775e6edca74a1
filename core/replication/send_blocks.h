#pragma once
// `send`: bring every target up to date, block by block, one kernel send per
// (block, parent) feeding all targets that need it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/endpoints/replica_endpoint.h"
#include "core/stream/transfer_meter.h"
#include "core/stream/zstd_codec.h"

namespace sc {

class Chain;
class EndpointPool;

struct SendRequest {
    std::vector<TargetRef> targets;
    bool full = false;
    bool incrementalOnly = false; // a target with no block in common with the primary fails instead of a full send
    CompressionSpec compression;
    std::optional<std::uint64_t> upto;
    // Protocol 2 sends punched holes as fallocate, where protocol 1 sends them as
    // written zeros (measured: a 99 MiB hole costs 233 bytes instead of 99 MiB).
    std::uint32_t protocol = 2;
    // Streams at least this large are spooled on remote replicas so a broken transfer resumes.
    std::uint64_t spoolMinBytes = 64u << 20;
    // ...until the stream arrives faster than this (bytes/s; 0: at any rate). Spooling
    // writes every stream twice on the replica; a link this fast sends the rest again
    // sooner than that costs. 50 MB/s is about 400 Mbit/s.
    double spoolMaxRate = 50e6;
    // Consecutive small blocks travel in one stream (one receive run) up to these limits.
    std::size_t maxBlocksPerStream = 100;
    std::uint64_t maxBytesPerStream = 128u << 20;
};

struct SendEvent {
    enum class Kind { Planned, BlockStarted, Progress, BlockDone, TargetFailed, Finished } kind;
    explicit SendEvent(Kind k) : kind(k) {}
    std::uint64_t height = 0;            // BlockStarted: the first block of the stream
    std::uint64_t lastHeight = 0;        // BlockStarted: the last block of the stream
    std::optional<std::uint64_t> parent;
    std::vector<std::string> targets; // the targets this event concerns
    std::size_t step = 0, steps = 0;
    TransferProgress progress;        // whole job: raw stream bytes
    std::uint64_t wireBytes = 0;      // after compression
    std::string error;
};

struct TargetOutcome {
    std::string target;
    bool ok = true;
    std::string error;
    std::uint64_t blocksReceived = 0;
    std::uint64_t resumedBytes = 0; // not sent again: the replica had them spooled from a broken try
};

struct SendReport {
    std::vector<TargetOutcome> targets;
    std::uint64_t rawBytes = 0;
    std::uint64_t wireBytes = 0;
    std::size_t steps = 0;
    double seconds = 0;
    bool allOk() const;
    bool anyOk() const;
};

using SendEventHandler = std::function<void(const SendEvent&)>;

// Target problems (not btrfs, foreign, unreachable, receive failed) are reported per
// target; the others go on. Bad requests throw sc::Error before anything is sent.
// Targets behind relays get the stream through them, while the relays receive it.
// `pool` keeps connections open across calls (the daemon's); without it they are
// opened here and closed at the end.
SendReport sendBlocks(const Chain& chain, const SendRequest& request, const SendEventHandler& onEvent,
                      const std::atomic<bool>* cancelled = nullptr, EndpointPool* pool = nullptr);

} // namespace sc
