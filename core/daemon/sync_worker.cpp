#include "core/daemon/sync_worker.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/endpoints/endpoint_pool.h"
#include "core/endpoints/replica_registry.h"
#include "core/ledger/chain.h"
#include "core/ledger/commit.h"
#include "core/messages/block_messages.h"
#include "core/messages/daemon_messages.h"
#include "core/messages/wire_names.h"
#include "core/replication/send_blocks.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace sc {

namespace {

// 1 s, 2 s, 4 s ... up to the cap: a replica that is away is not hammered.
void scheduleRetry(ReplicaState& state, const std::string& error, double maxBackoffSeconds) {
    state.phase = wire::kPhaseRetrying;
    state.lastError = error;
    state.failures++;
    double backoff = std::min(maxBackoffSeconds, std::pow(2.0, std::min(state.failures, 10u) - 1));
    state.nextAttempt = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(backoff));
}

} // namespace

struct SyncWorker::Worker {
    std::string path;
    std::unique_ptr<Chain> chain;
    mutable std::mutex mutex; // guards states, seenAt
    std::map<std::string, ReplicaState> states;
    std::map<std::uint64_t, Clock::time_point> seenAt; // when the daemon first saw each block
    std::unique_ptr<EndpointPool> endpoints; // kept open; used with `sending` held
    std::mutex sending;                      // one stream at a time over the kept-open connections
    std::optional<std::uint64_t> announcedTip; // newest block a "block" event was sent for
    std::atomic<bool> stop{false}, cancel{false}, wake{false};
    FileDescriptor inotifyFd;
    std::thread thread;
};

SyncWorker::SyncWorker(std::vector<std::string> chainPaths, DaemonOptions options, EventSink onEvent)
    : options_(options), onEvent_(std::move(onEvent)), started_(utcTimestampNow()) {
    if (chainPaths.empty())
        throw Error("no chain given", ExitCode::Usage);
    for (const auto& path : chainPaths) {
        auto worker = std::make_unique<Worker>();
        worker->chain = std::make_unique<Chain>(Chain::open(path));
        worker->endpoints = std::make_unique<EndpointPool>(worker->chain->identity());
        worker->path = worker->chain->paths().root;
        worker->inotifyFd.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
        if (worker->inotifyFd)
            ::inotify_add_watch(worker->inotifyFd.get(), worker->chain->paths().blocks.c_str(), IN_MOVED_TO | IN_CREATE);
        workers_.push_back(std::move(worker));
    }
    for (auto& worker : workers_)
        worker->thread = std::thread([this, w = worker.get()] { run(*w); });
}

SyncWorker::~SyncWorker() {
    for (auto& worker : workers_) {
        worker->stop = true;
        worker->cancel = true;
    }
    for (auto& worker : workers_) {
        if (worker->thread.joinable())
            worker->thread.join();
        worker->inotifyFd.reset();
    }
}

SyncWorker::Worker& SyncWorker::worker(const std::string& chain) const {
    std::string wanted = fs::weakly_canonical(chain).string();
    for (const auto& worker : workers_)
        if (worker->path == chain || fs::weakly_canonical(worker->path).string() == wanted)
            return *worker;
    throw Error("this daemon does not serve " + chain, ExitCode::Usage);
}

void SyncWorker::run(Worker& worker) {
    while (!worker.stop) {
        try {
            syncOnce(worker);
        } catch (const std::exception& e) {
            onEvent_(chainErrorEvent(worker.path, e.what()));
        }
        // Sleep until a block appears (inotify), a command wakes us, or the poll interval passes.
        auto deadline = Clock::now() + std::chrono::duration<double>(options_.pollSeconds);
        while (!worker.stop && !worker.wake && Clock::now() < deadline) {
            pollfd p{worker.inotifyFd.get(), POLLIN, 0};
            if (::poll(&p, 1, 100) > 0) {
                char events[4096];
                while (::read(worker.inotifyFd.get(), events, sizeof events) > 0) {
                }
                break;
            }
        }
        worker.wake = false;
    }
}

void SyncWorker::withConnections(const std::string& chain,
                                        const std::function<void(const Chain&, EndpointPool&)>& work) {
    Worker& w = worker(chain);
    std::lock_guard sending(w.sending);
    work(*w.chain, *w.endpoints);
}

void SyncWorker::announceBlocks(Worker& worker, const std::vector<std::uint64_t>& heights) {
    std::optional<std::uint64_t> announced;
    {
        std::lock_guard lock(worker.mutex);
        announced = worker.announcedTip;
        worker.announcedTip = std::max(worker.announcedTip.value_or(0), heights.back());
    }
    if (!announced)
        return; // the blocks that were there when the daemon started
    for (std::uint64_t h : heights)
        if (h > *announced)
            onEvent_(blockEvent(worker.path, h, worker.chain->header(h).hash().hex()));
}

// Which replicas are due this round, with their lag brought up to date; replicas that
// were removed from the registry are forgotten. The request targets the chain's tip.
SendRequest SyncWorker::planRound(Worker& worker, const ReplicaRegistry& registry,
                                  const std::vector<std::uint64_t>& heights) {
    const std::uint64_t tip = heights.back();
    const auto now = Clock::now();
    SendRequest request;
    request.upto = tip;
    {
        std::lock_guard lock(worker.mutex);
        for (std::uint64_t h : heights)
            worker.seenAt.emplace(h, now);
        if (worker.seenAt.size() > heights.size() + 1000)
            worker.seenAt.erase(worker.seenAt.begin());
        std::erase_if(worker.states, [&](const auto& entry) { return !registry.find(entry.first); });
    }
    for (const auto& replica : registry.replicas()) {
        if (!refreshReplicaState(worker, replica, heights, now))
            continue;
        TargetRef target = registry.resolve(replica.name, {}).target();
        if (!worker.endpoints->contains(replica.name)) {
            try {
                worker.endpoints->get(target); // replicas behind relays are reached through them
            } catch (const Error& e) {
                std::lock_guard lock(worker.mutex);
                ReplicaState& state = worker.states[replica.name];
                scheduleRetry(state, e.what(), options_.maxBackoffSeconds);
                onEvent_(replicaEvent(worker.path, state));
                continue;
            }
        }
        request.targets.push_back(target);
        if (request.compression.level == 0 && !replica.compress.empty())
            request.compression = parseCompressionSpec(replica.compress);
    }
    return request;
}

// Updates the replica's place behind the tip; true when it is due a send now.
bool SyncWorker::refreshReplicaState(Worker& worker, const RegisteredReplica& replica,
                                     const std::vector<std::uint64_t>& heights, Clock::time_point now) {
    const std::uint64_t tip = heights.back();
    std::lock_guard lock(worker.mutex);
    ReplicaState& state = worker.states[replica.name];
    state.name = replica.name;
    state.url = replica.url;
    state.via = replica.via;
    state.blocksBehind = state.height ? tip - std::min(tip, *state.height) : heights.size();
    std::uint64_t firstMissing = state.height ? *state.height + 1 : heights.front();
    auto seen = worker.seenAt.find(firstMissing);
    state.lagSeconds =
        state.blocksBehind && seen != worker.seenAt.end() ? std::chrono::duration<double>(now - seen->second).count()
                                                          : 0.0;
    return !(state.height && *state.height >= tip) && now >= state.nextAttempt;
}

// One send event of the round: the replicas it concerns get its bytes and heights, and
// everyone but BlockStarted is published as a "job" event.
void SyncWorker::trackSendEvent(Worker& worker, const SendEvent& event, RoundTally& tally) {
    if (event.kind == SendEvent::Kind::BlockStarted)
        tally.streaming = event.targets;
    if (event.kind == SendEvent::Kind::Planned || event.kind == SendEvent::Kind::Finished)
        return;
    // Bytes since the last event belong to the stream in flight: every replica it feeds counts them.
    std::uint64_t raw = event.progress.bytesDone - std::min(tally.rawBytes, event.progress.bytesDone);
    std::uint64_t wire = event.wireBytes - std::min(tally.wireBytes, event.wireBytes);
    tally.rawBytes = std::max(tally.rawBytes, event.progress.bytesDone);
    tally.wireBytes = std::max(tally.wireBytes, event.wireBytes);
    nlohmann::json j = syncProgressEvent(worker.path, event, tally.streaming);
    std::lock_guard lock(worker.mutex);
    for (const auto& name : tally.streaming) {
        ReplicaState& state = worker.states[name];
        state.phase = wire::kPhaseSyncing;
        state.rate = event.progress.rate;
        state.rawBytes += raw;
        state.bytesSent += wire;
    }
    if (event.kind == SendEvent::Kind::BlockDone)
        for (const auto& name : event.targets) {
            ReplicaState& state = worker.states[name];
            state.height = std::max(state.height.value_or(0), event.height);
        }
    if (event.kind != SendEvent::Kind::BlockStarted)
        onEvent_(j);
}

// Each target's outcome: in sync at the tip, or retried later over a new connection.
void SyncWorker::settleRound(Worker& worker, const SendReport& report, std::uint64_t tip) {
    std::lock_guard lock(worker.mutex);
    for (const auto& outcome : report.targets) {
        ReplicaState& state = worker.states[outcome.target];
        state.streams++;
        state.resumedBytes += outcome.resumedBytes;
        if (outcome.ok) {
            state.phase = wire::kPhaseInSync;
            state.height = tip;
            state.blocksBehind = 0;
            state.lagSeconds = 0;
            state.failures = 0;
            state.lastSuccess = utcTimestampNow();
            if (report.seconds > 0)
                state.rate = static_cast<double>(report.rawBytes) / report.seconds;
        } else {
            // The connection may be half-broken: reconnect on the next try.
            worker.endpoints->drop(outcome.target);
            scheduleRetry(state, outcome.error, options_.maxBackoffSeconds);
        }
        onEvent_(replicaEvent(worker.path, state));
    }
}

// A round: announce new blocks -> plan (which replicas are due) -> send -> settle.
void SyncWorker::syncOnce(Worker& worker) {
    const Chain& chain = *worker.chain;
    std::vector<std::uint64_t> heights = chain.heights();
    if (heights.empty())
        return;
    announceBlocks(worker, heights);
    std::lock_guard sending(worker.sending);
    if (worker.stop) // it waited for a job's stream while the daemon began to stop
        return;
    ReplicaRegistry registry(chain);
    SendRequest request = planRound(worker, registry, heights);
    if (request.targets.empty())
        return;
    worker.cancel = worker.stop.load(); // a cancel of the previous round is spent; a stop is not
    RoundTally tally;
    for (const auto& target : request.targets) {
        std::lock_guard lock(worker.mutex);
        worker.states[target.spec.text].phase = wire::kPhaseSyncing;
    }
    SendReport report;
    try {
        report = sendBlocks(
            chain, request, [&](const SendEvent& event) { trackSendEvent(worker, event, tally); }, &worker.cancel,
            worker.endpoints.get());
    } catch (const Error& e) {
        // Cancelled, or the chain itself failed: every stream of this round stopped.
        std::lock_guard lock(worker.mutex);
        for (const auto& target : request.targets) {
            worker.endpoints->drop(target.spec.text);
            worker.states[target.spec.text].phase = wire::kPhaseRetrying;
            worker.states[target.spec.text].lastError = e.what();
        }
        throw;
    }
    settleRound(worker, report, heights.back());
}

nlohmann::json SyncWorker::status() const {
    nlohmann::json chains = nlohmann::json::array();
    for (const auto& worker : workers_) {
        std::vector<ReplicaState> replicas;
        std::optional<std::uint64_t> tip = worker->chain->tip();
        std::lock_guard lock(worker->mutex);
        for (const auto& [name, state] : worker->states)
            replicas.push_back(state);
        chains.push_back(chainStatusJson(worker->path, worker->chain->identity().name, tip, replicas));
    }
    return statusReplyJson(::getpid(), STREAMCHAIN_VERSION, started_, chains);
}

nlohmann::json SyncWorker::commit(const std::string& chainPath, const nlohmann::json& body) {
    Worker& w = worker(chainPath);
    CommitRequest request;
    if (body.contains(wire::kMessage) && !body[wire::kMessage].is_string())
        throw Error("commit: \"message\" must be a string", ExitCode::Usage);
    request.message = body.value(wire::kMessage, std::string());
    if (body.contains(wire::kOperations))
        request.operations = body[wire::kOperations];
    if (body.contains(wire::kElements)) {
        const auto& elements = body[wire::kElements];
        if (!elements.is_array() || !std::all_of(elements.begin(), elements.end(), [](const auto& e) { return e.is_string(); }))
            throw Error("commit: \"elements\" must be a list of strings", ExitCode::Usage);
        request.elements = elements.get<std::vector<std::string>>();
    }
    validateCommitRequest(request);
    CommitResult result = commitBlock(*w.chain, request);
    std::vector<std::uint64_t> heights = w.chain->heights();
    announceBlocks(w, heights);
    w.wake = true;
    return commitReplyJson(result);
}

void SyncWorker::syncNow(const std::string& chain) {
    Worker& w = worker(chain);
    std::lock_guard lock(w.mutex);
    for (auto& [name, state] : w.states)
        state.nextAttempt = {};
    w.wake = true;
}

void SyncWorker::cancel(const std::string& chain) { worker(chain).cancel = true; }

} // namespace sc
