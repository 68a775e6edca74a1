#pragma once
// What the daemon knows about one replica (status and `replica` events), and its JSON.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/messages/wire_names.h"

namespace sc {

struct ReplicaState {
    std::string name, url;
    std::string via; // the replica that relays to this one
    std::string phase = wire::kPhaseUnknown; // or kPhaseSyncing, kPhaseInSync, kPhaseRetrying
    std::optional<std::uint64_t> height;
    std::uint64_t blocksBehind = 0;
    double lagSeconds = 0;          // age of the oldest block the replica lacks
    std::uint64_t bytesSent = 0, streams = 0; // bytesSent: on the wire, after compression
    std::uint64_t rawBytes = 0;                // of the send streams, before compression
    std::uint64_t resumedBytes = 0; // not sent again after broken transfers: the replica had them spooled
    double rate = 0;                // of the current or last stream, bytes/s
    std::string lastError;
    std::string lastSuccess;        // RFC 3339
    unsigned failures = 0;
    std::chrono::steady_clock::time_point nextAttempt{};
    // {name, url, via, phase, height|null, blocks_behind, lag_seconds, bytes_sent, raw_bytes,
    // resumed_bytes, streams, rate, last_error, last_success, failures, retry_in_seconds}
    nlohmann::json toJson() const;
};

} // namespace sc
