#include "core/replication/send_blocks.h"

#include "core/base/error.h"
#include "core/btrfs/kernel_diff.h"
#include "core/btrfs/kernel_send.h"
#include "core/btrfs/subvolumes.h"
#include "core/endpoints/endpoint_pool.h"
#include "core/ledger/chain.h"
#include "core/ledger/chain_lock.h"
#include "core/ledger/stream_estimate.h"
#include "core/replica/replica_target.h"
#include "core/replication/send_plan.h"
#include "core/replication/stream_pump.h"
#include "core/replication/stream_routes.h"

#include <chrono>
#include <map>
#include <memory>

namespace sc {

bool SendReport::allOk() const {
    for (const auto& t : targets)
        if (!t.ok)
            return false;
    return true;
}

bool SendReport::anyOk() const {
    for (const auto& t : targets)
        if (t.ok)
            return true;
    return false;
}

namespace {

struct TargetSlot {
    TargetSpec spec;
    ReplicaEndpoint* endpoint = nullptr;
    TargetOutcome outcome;
};

struct PrimaryBlock {
    std::string path;
    btrfs::SubvolumeInfo info;
    BlockHeader header;
};

// One stream: consecutive steps for the same targets, each incremental from the one before.
struct StreamGroup {
    std::vector<SendStep> steps;
    std::uint64_t estimatedBytes = 0;
};

std::vector<StreamGroup> groupSteps(const std::vector<SendStep>& steps, const std::vector<std::uint64_t>& sizes,
                                    const SendRequest& request) {
    std::vector<StreamGroup> groups;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        bool joins = false;
        if (!groups.empty()) {
            const StreamGroup& last = groups.back();
            const SendStep& previous = last.steps.back();
            joins = steps[i].parent && *steps[i].parent == previous.height && steps[i].targets == previous.targets &&
                    last.steps.size() < request.maxBlocksPerStream &&
                    last.estimatedBytes + sizes[i] <= request.maxBytesPerStream;
        }
        if (!joins)
            groups.emplace_back();
        groups.back().steps.push_back(steps[i]);
        groups.back().estimatedBytes += sizes[i];
    }
    return groups;
}

void fail(TargetSlot& slot, const std::string& error, const SendEventHandler& onEvent) {
    slot.outcome.ok = false;
    slot.outcome.error = error;
    SendEvent event{SendEvent::Kind::TargetFailed};
    event.targets = {slot.spec.text};
    event.error = error;
    onEvent(event);
}

// One connection's stream: to a target (owner), and through it to the targets behind it (riders).
struct OpenedStream {
    std::unique_ptr<StreamSink> sink;
    std::optional<std::size_t> owner;
    std::vector<RiderRoute> riders;
    std::shared_ptr<std::vector<RelayedOutcome>> relayed = std::make_shared<std::vector<RelayedOutcome>>();
};

std::vector<OpenedStream> openStreams(std::vector<TargetSlot>& slots, const std::vector<TargetRef>& targets,
                                      const std::vector<std::size_t>& receivers, const StreamAnnouncement& announcement,
                                      const std::shared_ptr<StreamTrailer>& trailer, EndpointPool& pool,
                                      const SendEventHandler& onEvent) {
    std::vector<std::size_t> healthy;
    for (std::size_t target : receivers)
        if (slots[target].outcome.ok)
            healthy.push_back(target);
    std::vector<OpenedStream> streams;
    for (const StreamRoute& route : routeStream(targets, healthy)) {
        OpenedStream stream;
        stream.owner = route.own;
        try {
            if (route.riders.empty()) {
                stream.sink = slots[*route.own].endpoint->openStream(announcement, trailer);
            } else if (!route.own && route.riders.size() == 1) {
                // One replica behind relays: its own routed session carries the stream, spool and all.
                stream.owner = route.riders.front().target;
                stream.sink = slots[*stream.owner].endpoint->openStream(announcement, trailer);
            } else {
                stream.riders = route.riders;
                RelayPlan plan{route.own.has_value(), {}};
                for (const RiderRoute& rider : route.riders)
                    plan.routes.push_back(rider.route);
                stream.sink = pool.get(route.entry).openRelayedStream(announcement, trailer, plan, stream.relayed);
            }
        } catch (const Error& e) {
            if (stream.owner)
                fail(slots[*stream.owner], e.what(), onEvent);
            for (const RiderRoute& rider : route.riders)
                if (slots[rider.target].outcome.ok)
                    fail(slots[rider.target], e.what(), onEvent);
            continue;
        }
        streams.push_back(std::move(stream));
    }
    return streams;
}

// One call of sendBlocks, in its stages: inventory (what the primary has, what each
// target holds) -> plan (which block goes where, grouped into streams) -> for each
// stream: open, pump, settle (each target's outcome) -> report.
class SendSession {
public:
    SendSession(const Chain& chain, const SendRequest& request, const SendEventHandler& onEvent,
                const std::atomic<bool>* cancelled, EndpointPool& pool)
        : chain_(chain), request_(request), onEvent_(onEvent), cancelled_(cancelled), pool_(pool),
          slots_(request.targets.size()) {}

    void takeInventory();
    void plan();
    void sendGroup(const StreamGroup& group);
    SendReport report(double seconds);
    const std::vector<StreamGroup>& groups() const { return groups_; }

private:
    StreamAnnouncement announce(const StreamGroup& group, std::vector<KernelSendPart>& parts) const;
    void emitBlockStarted(const StreamGroup& group, const std::vector<OpenedStream>& streams);
    void emitProgress(std::uint64_t height);
    void settle(const StreamGroup& group, const std::vector<OpenedStream>& streams, const PumpedStream& pumped);
    SendEvent jobEvent(SendEvent::Kind kind) const; // progress and step counts filled in

    const Chain& chain_;
    const SendRequest& request_;
    const SendEventHandler& onEvent_;
    const std::atomic<bool>* cancelled_;
    EndpointPool& pool_;
    std::vector<TargetSlot> slots_;
    std::vector<std::uint64_t> heights_;
    std::map<std::uint64_t, PrimaryBlock> primary_;
    std::vector<std::set<std::uint64_t>> held_; // per target: the heights it holds, as received from ours
    std::vector<SendStep> steps_;
    std::vector<StreamGroup> groups_;
    std::optional<TransferMeter> meter_; // started once the plan is made: elapsed time counts the sending
    std::uint64_t wireBytes_ = 0;
    std::size_t stepsDone_ = 0;
};

void SendSession::takeInventory() {
    heights_ = chain_.heights();
    if (heights_.empty())
        throw Error(chain_.label() + " has no blocks");
    if (request_.upto && *request_.upto > heights_.back())
        throw Error("--upto " + std::to_string(*request_.upto) + " is beyond the tip " +
                        std::to_string(heights_.back()) + " of " + chain_.label(),
                    ExitCode::Usage);
    std::map<btrfs::Uuid, std::uint64_t> heightByUuid;
    for (std::uint64_t h : heights_) {
        PrimaryBlock block{chain_.paths().block(h), btrfs::subvolumeInfo(chain_.paths().block(h)), chain_.header(h)};
        heightByUuid[block.info.uuid] = h;
        primary_.emplace(h, std::move(block));
    }
    held_.assign(slots_.size(), {});
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        TargetSlot& slot = slots_[i];
        slot.spec = request_.targets[i].spec;
        slot.outcome.target = slot.spec.text;
        try {
            slot.endpoint = &pool_.get(request_.targets[i]);
            slot.endpoint->prepare(chain_.identity());
            for (const auto& block : slot.endpoint->blocks()) {
                auto match = heightByUuid.find(block.receivedUuid);
                if (match != heightByUuid.end() && match->second == block.height)
                    held_[i].insert(block.height);
            }
        } catch (const Error& e) {
            fail(slot, e.what(), onEvent_);
            held_[i] = std::set<std::uint64_t>(heights_.begin(), heights_.end()); // plan nothing for it
        }
    }
}

void SendSession::plan() {
    steps_ = planSends(heights_, held_, request_.upto.value_or(heights_.back()), request_.full);
    if (request_.incrementalOnly)
        for (const SendStep& step : steps_)
            if (!step.parent)
                for (std::size_t target : step.targets)
                    if (slots_[target].outcome.ok)
                        fail(slots_[target], "no block in common to send incrementally from (a full send is needed)",
                             onEvent_);
    std::vector<std::uint64_t> sizes;
    std::uint64_t total = 0;
    for (const auto& step : steps_) {
        sizes.push_back(estimateStreamBytes(chain_, step.height, step.parent, request_.protocol));
        total += sizes.back();
    }
    groups_ = groupSteps(steps_, sizes, request_);
    meter_.emplace(total);
    onEvent_(jobEvent(SendEvent::Kind::Planned));
}

SendEvent SendSession::jobEvent(SendEvent::Kind kind) const {
    SendEvent event{kind};
    event.steps = steps_.size();
    event.progress = meter_->snapshot();
    event.wireBytes = wireBytes_;
    return event;
}

StreamAnnouncement SendSession::announce(const StreamGroup& group, std::vector<KernelSendPart>& parts) const {
    const SendStep& first = group.steps.front();
    StreamAnnouncement announcement;
    announcement.compression = request_.compression;
    std::vector<btrfs::Uuid> uuids;
    for (const SendStep& step : group.steps) {
        const PrimaryBlock& block = primary_.at(step.height);
        announcement.blocks.push_back({step.height, block.info.uuid, block.header, step.parent});
        uuids.push_back(block.info.uuid);
        parts.push_back({block.path, step.parent ? primary_.at(*step.parent).path : std::string()});
    }
    if (group.estimatedBytes >= request_.spoolMinBytes)
        announcement.spoolKey = spoolKeyFor(first.parent ? &primary_.at(*first.parent).info.uuid : nullptr, uuids);
    announcement.spoolMaxRate = request_.spoolMaxRate;
    return announcement;
}

void SendSession::emitBlockStarted(const StreamGroup& group, const std::vector<OpenedStream>& streams) {
    SendEvent begin = jobEvent(SendEvent::Kind::BlockStarted);
    for (const OpenedStream& stream : streams) {
        if (stream.owner)
            begin.targets.push_back(slots_[*stream.owner].spec.text);
        for (const RiderRoute& rider : stream.riders)
            begin.targets.push_back(slots_[rider.target].spec.text);
    }
    begin.height = group.steps.front().height;
    begin.lastHeight = group.steps.back().height;
    begin.parent = group.steps.front().parent;
    begin.step = stepsDone_ + 1;
    onEvent_(begin);
}

void SendSession::emitProgress(std::uint64_t height) {
    SendEvent progress = jobEvent(SendEvent::Kind::Progress);
    progress.height = height;
    progress.step = stepsDone_ + 1;
    onEvent_(progress);
}

void SendSession::sendGroup(const StreamGroup& group) {
    if (cancelled_ && cancelled_->load())
        throw Error("send cancelled", ExitCode::Interrupted);
    const SendStep& first = group.steps.front();
    std::vector<KernelSendPart> parts;
    StreamAnnouncement announcement = announce(group, parts);
    auto trailer = std::make_shared<StreamTrailer>();
    std::vector<OpenedStream> streams =
        openStreams(slots_, request_.targets, first.targets, announcement, trailer, pool_, onEvent_);
    if (streams.empty()) {
        stepsDone_ += group.steps.size();
        return;
    }
    emitBlockStarted(group, streams);
    std::vector<StreamSink*> sinks;
    for (const OpenedStream& stream : streams)
        sinks.push_back(stream.sink.get());
    KernelSendOptions options;
    options.protocol = request_.protocol;
    StreamPump pump(*meter_, wireBytes_, [&] { emitProgress(first.height); }, cancelled_);
    PumpedStream pumped =
        pump.run(parts, options, sinks, request_.compression, *trailer, "block " + std::to_string(first.height));
    settle(group, streams, pumped);
}

// Each target of the stream: received (its count goes up) or failed (once, with the reason).
void SendSession::settle(const StreamGroup& group, const std::vector<OpenedStream>& streams,
                         const PumpedStream& pumped) {
    std::vector<std::string> succeeded;
    for (std::size_t k = 0; k < pumped.outcomes.size(); ++k) {
        const std::string error = pumped.sourceError.empty() ? pumped.outcomes[k].error : pumped.sourceError;
        if (auto owner = streams[k].owner) {
            TargetSlot& slot = slots_[*owner];
            if (pumped.outcomes[k].ok) {
                slot.outcome.blocksReceived += group.steps.size();
                slot.outcome.resumedBytes += streams[k].sink->resumedBytes();
                succeeded.push_back(slot.spec.text);
            } else if (slot.outcome.ok) {
                fail(slot, error, onEvent_);
            }
        }
        for (const RiderRoute& rider : streams[k].riders) {
            TargetSlot& slot = slots_[rider.target];
            const RelayedOutcome* relayed = nullptr;
            for (const auto& result : *streams[k].relayed)
                if (result.route == rider.route)
                    relayed = &result;
            if (relayed && relayed->ok) {
                slot.outcome.blocksReceived += group.steps.size();
                succeeded.push_back(slot.spec.text);
            } else if (slot.outcome.ok) {
                fail(slot, relayed ? relayed->error : "not relayed to it: " + (error.empty() ? "no report" : error),
                     onEvent_);
            }
        }
    }
    for (const SendStep& step : group.steps) {
        SendEvent done = jobEvent(SendEvent::Kind::BlockDone);
        done.height = step.height;
        done.parent = step.parent;
        done.step = ++stepsDone_;
        done.targets = succeeded;
        onEvent_(done);
    }
}

SendReport SendSession::report(double seconds) {
    SendReport report;
    for (auto& slot : slots_)
        report.targets.push_back(slot.outcome);
    report.rawBytes = meter_->snapshot().bytesDone;
    report.wireBytes = wireBytes_;
    report.steps = steps_.size();
    report.seconds = seconds;
    onEvent_(jobEvent(SendEvent::Kind::Finished));
    return report;
}

} // namespace

SendReport sendBlocks(const Chain& chain, const SendRequest& request, const SendEventHandler& onEvent,
                      const std::atomic<bool>* cancelled, EndpointPool* sharedPool) {
    auto started = std::chrono::steady_clock::now();
    if (request.targets.empty())
        throw Error("no target given (use --to)", ExitCode::Usage);
    EndpointPool ownPool(chain.identity());
    SendSession session(chain, request, onEvent, cancelled, sharedPool ? *sharedPool : ownPool);
    session.takeInventory();
    session.plan();
    for (const StreamGroup& group : session.groups())
        session.sendGroup(group);
    return session.report(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

} // namespace sc
