#include "core/replication/send_blocks.h"

#include "core/base/error.h"
#include "core/base/fault_injection.h"
#include "core/base/hash.h"
#include "core/btrfs/kernel_diff.h"
#include "core/btrfs/kernel_send.h"
#include "core/btrfs/subvolumes.h"
#include "core/endpoints/endpoint_pool.h"
#include "core/ledger/chain.h"
#include "core/ledger/chain_lock.h"
#include "core/ledger/stream_estimate.h"
#include "core/replica/replica_target.h"
#include "core/replication/send_plan.h"
#include "core/replication/stream_routes.h"
#include "core/stream/fan_out.h"

#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <unistd.h>

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

} // namespace

SendReport sendBlocks(const Chain& chain, const SendRequest& request, const SendEventHandler& onEvent,
                      const std::atomic<bool>* cancelled, EndpointPool* sharedPool) {
    auto started = std::chrono::steady_clock::now();
    if (request.targets.empty())
        throw Error("no target given (use --to)", ExitCode::Usage);
    std::vector<std::uint64_t> heights = chain.heights();
    if (heights.empty())
        throw Error(chain.label() + " has no blocks");
    std::uint64_t upto = request.upto.value_or(heights.back());
    if (request.upto && *request.upto > heights.back())
        throw Error("--upto " + std::to_string(*request.upto) + " is beyond the tip " +
                        std::to_string(heights.back()) + " of " + chain.label(),
                    ExitCode::Usage);

    EndpointPool ownPool(chain.identity());
    EndpointPool& pool = sharedPool ? *sharedPool : ownPool;
    std::vector<TargetSlot> slots(request.targets.size());
    for (std::size_t i = 0; i < request.targets.size(); ++i)
        slots[i].spec = request.targets[i].spec;

    std::map<std::uint64_t, PrimaryBlock> primary;
    std::map<btrfs::Uuid, std::uint64_t> heightByUuid;
    for (std::uint64_t h : heights) {
        PrimaryBlock block{chain.paths().block(h), btrfs::subvolumeInfo(chain.paths().block(h)), chain.header(h)};
        heightByUuid[block.info.uuid] = h;
        primary.emplace(h, std::move(block));
    }

    std::vector<std::set<std::uint64_t>> held(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        TargetSlot& slot = slots[i];
        slot.outcome.target = slot.spec.text;
        try {
            slot.endpoint = &pool.get(request.targets[i]);
            slot.endpoint->prepare(chain.identity());
            for (const auto& block : slot.endpoint->blocks()) {
                auto match = heightByUuid.find(block.receivedUuid);
                if (match != heightByUuid.end() && match->second == block.height)
                    held[i].insert(block.height);
            }
        } catch (const Error& e) {
            fail(slot, e.what(), onEvent);
            held[i] = std::set<std::uint64_t>(heights.begin(), heights.end()); // plan nothing for it
        }
    }

    std::vector<SendStep> steps = planSends(heights, held, upto, request.full);
    if (request.incrementalOnly)
        for (const SendStep& step : steps)
            if (!step.parent)
                for (std::size_t target : step.targets)
                    if (slots[target].outcome.ok)
                        fail(slots[target], "no block in common to send incrementally from (a full send is needed)",
                             onEvent);
    std::vector<std::uint64_t> sizes;
    std::uint64_t total = 0;
    for (const auto& step : steps) {
        sizes.push_back(estimateStreamBytes(chain, step.height, step.parent, request.protocol));
        total += sizes.back();
    }
    std::vector<StreamGroup> groups = groupSteps(steps, sizes, request);
    TransferMeter meter(total);
    std::uint64_t wireBytes = 0;
    {
        SendEvent planned{SendEvent::Kind::Planned};
        planned.steps = steps.size();
        planned.progress = meter.snapshot();
        onEvent(planned);
    }

    auto lastProgress = std::chrono::steady_clock::now();
    std::size_t stepsDone = 0;
    for (const StreamGroup& group : groups) {
        if (cancelled && cancelled->load())
            throw Error("send cancelled", ExitCode::Interrupted);
        const SendStep& first = group.steps.front();
        StreamAnnouncement announcement;
        announcement.compression = request.compression;
        std::vector<btrfs::Uuid> uuids;
        std::vector<KernelSendPart> parts;
        for (const SendStep& step : group.steps) {
            const PrimaryBlock& block = primary.at(step.height);
            announcement.blocks.push_back({step.height, block.info.uuid, block.header, step.parent});
            uuids.push_back(block.info.uuid);
            parts.push_back({block.path, step.parent ? primary.at(*step.parent).path : std::string()});
        }
        if (group.estimatedBytes >= request.spoolMinBytes)
            announcement.spoolKey = spoolKeyFor(first.parent ? &primary.at(*first.parent).info.uuid : nullptr, uuids);
        announcement.spoolMaxRate = request.spoolMaxRate;

        auto trailer = std::make_shared<StreamTrailer>();
        std::vector<OpenedStream> streams = openStreams(slots, request.targets, first.targets, announcement, trailer,
                                                        pool, onEvent);
        std::vector<StreamSink*> sinkPointers;
        SendEvent begin{SendEvent::Kind::BlockStarted};
        for (const OpenedStream& stream : streams) {
            sinkPointers.push_back(stream.sink.get());
            if (stream.owner)
                begin.targets.push_back(slots[*stream.owner].spec.text);
            for (const RiderRoute& rider : stream.riders)
                begin.targets.push_back(slots[rider.target].spec.text);
        }
        if (streams.empty()) {
            stepsDone += group.steps.size();
            continue;
        }
        begin.height = first.height;
        begin.lastHeight = group.steps.back().height;
        begin.parent = first.parent;
        begin.step = stepsDone + 1;
        begin.steps = steps.size();
        begin.progress = meter.snapshot();
        onEvent(begin);

        bool anyPacked = false, anyDigest = false;
        for (StreamSink* sink : sinkPointers) {
            anyPacked = anyPacked || sink->wantsPacked();
            anyDigest = anyDigest || sink->wantsDigest();
        }
        KernelSendOptions options;
        options.protocol = request.protocol;
        FanOut fanOut(sinkPointers);
        std::unique_ptr<ZstdCompressor> compressor;
        if (anyPacked)
            compressor = std::make_unique<ZstdCompressor>(request.compression.level, request.compression.threads);
        Hasher digest(HashAlgorithm::Sha256);
        std::string sourceError;
        bool allFailed = false;
        try {
            KernelSend send(parts, options);
            constexpr std::size_t chunkSize = 1 << 20;
            while (true) {
                auto chunk = std::make_shared<std::string>(chunkSize, '\0');
                std::size_t filled = 0;
                while (filled < chunkSize) {
                    ssize_t n = ::read(send.fd(), chunk->data() + filled, chunkSize - filled);
                    if (n < 0 && errno == EINTR)
                        continue;
                    if (n < 0)
                        throwSystemError("cannot read send stream of block " + std::to_string(first.height), errno);
                    if (n == 0)
                        break;
                    filled += static_cast<std::size_t>(n);
                }
                bool last = filled < chunkSize;
                chunk->resize(filled);
                meter.add(filled);
                if (anyDigest)
                    digest.update(*chunk);
                trailer->rawBytes += filled;
                std::shared_ptr<const std::string> packed;
                std::uint64_t sent = filled;
                if (compressor) {
                    auto out = std::make_shared<std::string>();
                    compressor->compress(std::span(reinterpret_cast<const std::uint8_t*>(chunk->data()), chunk->size()),
                                         *out);
                    if (last)
                        compressor->finish(*out);
                    sent = out->size();
                    packed = out;
                }
                wireBytes += sent;
                if (!fanOut.push(chunk, packed)) {
                    allFailed = true; // every target of this stream failed: stop the kernel's send too
                    send.cancel();
                    break;
                }
                auto now = std::chrono::steady_clock::now();
                if (now - lastProgress > std::chrono::milliseconds(200)) {
                    lastProgress = now;
                    SendEvent progress{SendEvent::Kind::Progress};
                    progress.height = first.height;
                    progress.step = stepsDone + 1;
                    progress.steps = steps.size();
                    progress.progress = meter.snapshot();
                    progress.wireBytes = wireBytes;
                    onEvent(progress);
                }
                if (cancelled && cancelled->load())
                    throw Error("send cancelled", ExitCode::Interrupted);
                if (faultActive("send-slowly")) // a long stream for tests that stop the daemon mid-way
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                if (last)
                    break;
            }
            if (!allFailed) {
                send.finish();
                trailer->rawSha256 = anyDigest ? digest.finish().hex() : std::string();
            }
        } catch (const Error& e) {
            if (e.code() == ExitCode::Interrupted) {
                fanOut.cancel(e.what());
                throw;
            }
            sourceError = e.what();
        }
        std::vector<SinkOutcome> outcomes = sourceError.empty() ? fanOut.finish() : fanOut.cancel(sourceError);
        std::vector<std::string> succeeded;
        for (std::size_t k = 0; k < outcomes.size(); ++k) {
            const std::string error = sourceError.empty() ? outcomes[k].error : sourceError;
            if (auto owner = streams[k].owner) {
                TargetSlot& slot = slots[*owner];
                if (outcomes[k].ok) {
                    slot.outcome.blocksReceived += group.steps.size();
                    slot.outcome.resumedBytes += streams[k].sink->resumedBytes();
                    succeeded.push_back(slot.spec.text);
                } else if (slot.outcome.ok) {
                    fail(slot, error, onEvent);
                }
            }
            for (const RiderRoute& rider : streams[k].riders) {
                TargetSlot& slot = slots[rider.target];
                const RelayedOutcome* relayed = nullptr;
                for (const auto& result : *streams[k].relayed)
                    if (result.route == rider.route)
                        relayed = &result;
                if (relayed && relayed->ok) {
                    slot.outcome.blocksReceived += group.steps.size();
                    succeeded.push_back(slot.spec.text);
                } else if (slot.outcome.ok) {
                    fail(slot, relayed ? relayed->error : "not relayed to it: " + (error.empty() ? "no report" : error),
                         onEvent);
                }
            }
        }
        for (const SendStep& step : group.steps) {
            SendEvent done{SendEvent::Kind::BlockDone};
            done.height = step.height;
            done.parent = step.parent;
            done.step = ++stepsDone;
            done.steps = steps.size();
            done.targets = succeeded;
            done.progress = meter.snapshot();
            done.wireBytes = wireBytes;
            onEvent(done);
        }
    }

    SendReport report;
    for (auto& slot : slots)
        report.targets.push_back(slot.outcome);
    report.rawBytes = meter.snapshot().bytesDone;
    report.wireBytes = wireBytes;
    report.steps = steps.size();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    SendEvent finished{SendEvent::Kind::Finished};
    finished.progress = meter.snapshot();
    finished.wireBytes = wireBytes;
    onEvent(finished);
    return report;
}

} // namespace sc
