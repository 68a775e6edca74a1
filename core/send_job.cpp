#include "core/send_job.h"

#include "core/block_diff.h"
#include "core/btrfs.h"
#include "core/chain.h"
#include "core/chain_lock.h"
#include "core/error.h"
#include "core/fan_out.h"
#include "core/kernel_send.h"
#include "core/local_receive.h"
#include "core/replica_target.h"
#include "core/send_plan.h"

#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
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
    std::unique_ptr<LocalReplica> replica;
    std::unique_ptr<ChainLock> lock;
    TargetOutcome outcome;
};

struct PrimaryBlock {
    std::string path;
    btrfs::SubvolumeInfo info;
    std::string headerHash;
};

// The no-data stream of the same (parent, block) pair tells the size of the real
// one: its own bytes plus the file data it leaves out.
std::uint64_t estimateStreamBytes(const std::string& block, const std::string& parent, std::uint32_t protocol) {
    std::uint64_t metadataBytes = 0;
    ChangeSet changes = kernelDiff(parent, block, &metadataBytes, protocol);
    return metadataBytes + changes.dataBytes;
}

void fail(TargetSlot& slot, const std::string& error, const SendEventHandler& onEvent) {
    slot.outcome.ok = false;
    slot.outcome.error = error;
    SendEvent event{SendEvent::Kind::TargetFailed};
    event.targets = {slot.spec.text};
    event.error = error;
    onEvent(event);
}

} // namespace

SendReport sendBlocks(const Chain& chain, const SendRequest& request, const SendEventHandler& onEvent,
                      const std::atomic<bool>* cancelled) {
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

    std::vector<TargetSlot> slots(request.targets.size());
    for (std::size_t i = 0; i < request.targets.size(); ++i)
        slots[i].spec = parseTargetSpec(request.targets[i]); // bad syntax: a usage error, nothing sent

    std::map<std::uint64_t, PrimaryBlock> primary;
    std::map<btrfs::Uuid, std::uint64_t> heightByUuid;
    for (std::uint64_t h : heights) {
        PrimaryBlock block{chain.paths().block(h), btrfs::subvolumeInfo(chain.paths().block(h)),
                           chain.header(h).hash().hex()};
        heightByUuid[block.info.uuid] = h;
        primary.emplace(h, std::move(block));
    }

    std::vector<std::set<std::uint64_t>> held(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        TargetSlot& slot = slots[i];
        slot.outcome.target = slot.spec.text;
        try {
            slot.replica = std::make_unique<LocalReplica>(slot.spec.path);
            slot.replica->prepare(chain.identity());
            slot.lock = std::make_unique<ChainLock>(slot.replica->lockFile(), slot.replica->label());
            slot.replica->cleanStaging();
            for (const auto& block : slot.replica->blocks()) {
                auto match = heightByUuid.find(block.info.receivedUuid);
                if (match != heightByUuid.end() && match->second == block.height)
                    held[i].insert(block.height);
            }
        } catch (const Error& e) {
            fail(slot, e.what(), onEvent);
            held[i] = std::set<std::uint64_t>(heights.begin(), heights.end()); // plan nothing for it
        }
    }

    std::vector<SendStep> steps = planSends(heights, held, upto, request.full);
    std::uint64_t total = 0;
    for (const auto& step : steps)
        total += estimateStreamBytes(primary.at(step.height).path,
                                     step.parent ? primary.at(*step.parent).path : std::string(), request.protocol);
    TransferMeter meter(total);
    std::uint64_t wireBytes = 0;
    {
        SendEvent planned{SendEvent::Kind::Planned};
        planned.steps = steps.size();
        planned.progress = meter.snapshot();
        onEvent(planned);
    }

    auto lastProgress = std::chrono::steady_clock::now();
    for (std::size_t index = 0; index < steps.size(); ++index) {
        const SendStep& step = steps[index];
        if (cancelled && cancelled->load())
            throw Error("send cancelled", ExitCode::Interrupted);
        const PrimaryBlock& block = primary.at(step.height);

        std::vector<std::unique_ptr<LocalReceiveSink>> sinks;
        std::vector<StreamSink*> sinkPointers;
        std::vector<std::size_t> sinkSlots;
        SendEvent begin{SendEvent::Kind::BlockStarted};
        for (std::size_t target : step.targets) {
            TargetSlot& slot = slots[target];
            if (!slot.outcome.ok)
                continue;
            try {
                ExpectedBlock expected{step.height, block.info.uuid, block.headerHash, chain.identity().publicKey};
                sinks.push_back(
                    std::make_unique<LocalReceiveSink>(*slot.replica, expected, request.compression.enabled));
                sinkPointers.push_back(sinks.back().get());
                sinkSlots.push_back(target);
                begin.targets.push_back(slot.spec.text);
            } catch (const Error& e) {
                fail(slot, e.what(), onEvent);
            }
        }
        if (sinks.empty())
            continue;
        begin.height = step.height;
        begin.parent = step.parent;
        begin.step = index + 1;
        begin.steps = steps.size();
        begin.progress = meter.snapshot();
        onEvent(begin);

        KernelSendOptions options;
        if (step.parent)
            options.parent = primary.at(*step.parent).path;
        options.protocol = request.protocol;
        FanOut fanOut(sinkPointers);
        std::unique_ptr<ZstdCompressor> compressor;
        if (request.compression.enabled)
            compressor = std::make_unique<ZstdCompressor>(request.compression.level, request.compression.threads);
        std::string sourceError;
        try {
            KernelSend send(block.path, options);
            constexpr std::size_t chunkSize = 1 << 20;
            while (true) {
                auto chunk = std::make_shared<std::string>(chunkSize, '\0');
                std::size_t filled = 0;
                while (filled < chunkSize) {
                    ssize_t n = ::read(send.fd(), chunk->data() + filled, chunkSize - filled);
                    if (n < 0 && errno == EINTR)
                        continue;
                    if (n < 0)
                        throwSystemError("cannot read send stream of block " + std::to_string(step.height), errno);
                    if (n == 0)
                        break;
                    filled += static_cast<std::size_t>(n);
                }
                bool last = filled < chunkSize;
                chunk->resize(filled);
                meter.add(filled);
                std::shared_ptr<const std::string> out = chunk;
                if (compressor) {
                    auto packed = std::make_shared<std::string>();
                    compressor->compress(
                        std::span(reinterpret_cast<const std::uint8_t*>(chunk->data()), chunk->size()), *packed);
                    if (last)
                        compressor->finish(*packed);
                    out = packed;
                }
                wireBytes += out->size();
                if (!out->empty() && !fanOut.push(out))
                    break; // every target of this step failed
                auto now = std::chrono::steady_clock::now();
                if (now - lastProgress > std::chrono::milliseconds(200)) {
                    lastProgress = now;
                    SendEvent progress{SendEvent::Kind::Progress};
                    progress.height = step.height;
                    progress.step = index + 1;
                    progress.steps = steps.size();
                    progress.progress = meter.snapshot();
                    progress.wireBytes = wireBytes;
                    onEvent(progress);
                }
                if (cancelled && cancelled->load())
                    throw Error("send cancelled", ExitCode::Interrupted);
                if (last)
                    break;
            }
            send.finish();
        } catch (const Error& e) {
            if (e.code() == ExitCode::Interrupted) {
                fanOut.cancel(e.what());
                throw;
            }
            sourceError = e.what();
        }
        std::vector<SinkOutcome> outcomes = sourceError.empty() ? fanOut.finish() : fanOut.cancel(sourceError);
        SendEvent done{SendEvent::Kind::BlockDone};
        done.height = step.height;
        done.step = index + 1;
        done.steps = steps.size();
        for (std::size_t k = 0; k < outcomes.size(); ++k) {
            TargetSlot& slot = slots[sinkSlots[k]];
            if (outcomes[k].ok) {
                ++slot.outcome.blocksReceived;
                done.targets.push_back(slot.spec.text);
            } else if (slot.outcome.ok) {
                fail(slot, sourceError.empty() ? outcomes[k].error : sourceError, onEvent);
            }
        }
        done.progress = meter.snapshot();
        done.wireBytes = wireBytes;
        onEvent(done);
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
