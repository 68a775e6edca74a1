#pragma once
// `send`: bring every target up to date, block by block, one kernel send per
// (block, parent) feeding all targets that need it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/transfer_meter.h"
#include "core/zstd_codec.h"

namespace sc {

class Chain;

struct SendRequest {
    std::vector<std::string> targets;
    bool full = false;
    CompressionSpec compression;
    std::optional<std::uint64_t> upto;
    // Protocol 2 sends punched holes as fallocate, where protocol 1 sends them as
    // written zeros (measured: a 99 MiB hole costs 233 bytes instead of 99 MiB).
    std::uint32_t protocol = 2;
};

struct SendEvent {
    enum class Kind { Planned, BlockStarted, Progress, BlockDone, TargetFailed, Finished } kind;
    explicit SendEvent(Kind k) : kind(k) {}
    std::uint64_t height = 0;
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

// Target problems (not btrfs, foreign, receive failed) are reported per target; the
// others go on. Bad requests throw sc::Error before anything is sent.
SendReport sendBlocks(const Chain& chain, const SendRequest& request, const SendEventHandler& onEvent,
                      const std::atomic<bool>* cancelled = nullptr);

} // namespace sc
