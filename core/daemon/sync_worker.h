#pragma once
// The engine behind `streamchain daemon`: one worker per chain watches blocks/
// (inotify) and brings every registered replica fed by the primary up to date
// over kept-open connections, retrying failed replicas with capped exponential
// backoff. Each replica's state (height, lag, bytes, rate, last error) is kept
// for status, and every change is published as an event.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/messages/replica_state.h"

namespace sc {

class Chain;
class ReplicaEndpoint;
class EndpointPool;
class ReplicaRegistry;
struct RegisteredReplica;
struct SendEvent;
struct SendReport;
struct SendRequest;

struct DaemonOptions {
    double maxBackoffSeconds = 60;
    double pollSeconds = 2; // a fallback: inotify wakes the worker at once
};

class SyncWorker {
public:
    using EventSink = std::function<void(const nlohmann::json& event)>;
    SyncWorker(std::vector<std::string> chainPaths, DaemonOptions options, EventSink onEvent);
    ~SyncWorker(); // stops and joins the workers
    SyncWorker(const SyncWorker&) = delete;
    SyncWorker& operator=(const SyncWorker&) = delete;

    nlohmann::json status() const;
    // Control commands; throw sc::Error for unknown chains or bad input.
    nlohmann::json commit(const std::string& chain, const nlohmann::json& request);
    void syncNow(const std::string& chain); // wake up and forget backoff
    void cancel(const std::string& chain);  // stop the running stream
    // Runs `work` on the chain's kept-open connections while its replication waits
    // (a replica's agent session holds the replica's lock, so a second one would wait).
    void withConnections(const std::string& chain, const std::function<void(const Chain&, EndpointPool&)>& work);

private:
    struct Worker;
    Worker& worker(const std::string& chain) const;
    void run(Worker& worker);
    void syncOnce(Worker& worker);
    // The stages of one round (syncOnce).
    struct RoundTally {
        std::vector<std::string> streaming; // targets of the stream in flight
        std::uint64_t rawBytes = 0, wireBytes = 0; // of the round so far
    };
    SendRequest planRound(Worker& worker, const ReplicaRegistry& registry, const std::vector<std::uint64_t>& heights);
    bool refreshReplicaState(Worker& worker, const RegisteredReplica& replica, const std::vector<std::uint64_t>& heights,
                             std::chrono::steady_clock::time_point now);
    void trackSendEvent(Worker& worker, const SendEvent& event, RoundTally& tally);
    void settleRound(Worker& worker, const SendReport& report, std::uint64_t tip);
    void announceBlocks(Worker& worker, const std::vector<std::uint64_t>& heights); // "block" events for new ones

    DaemonOptions options_;
    EventSink onEvent_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::string started_;
};

} // namespace sc
