#include "core/ledger/commit.h"

#include "core/base/error.h"
#include "core/base/fault_injection.h"
#include "core/btrfs/subvolumes.h"
#include "core/footprint/recorded_footprint.h"
#include "core/ledger/chain.h"
#include "core/ledger/chain_lock.h"
#include "core/ledger/signing_key.h"
#include "core/ledger/stream_estimate.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sc {

static bool validUtf8(const std::string& text) {
    try {
        (void)nlohmann::json(text).dump();
        return true;
    } catch (const nlohmann::json::exception&) {
        return false;
    }
}

void validateCommitRequest(const CommitRequest& request) {
    if (!validUtf8(request.message))
        throw Error("commit message is not valid UTF-8", ExitCode::Usage);
    if (!request.operations.is_array())
        throw Error("operations must be a JSON array", ExitCode::Usage);
    for (std::size_t i = 0; i < request.operations.size(); ++i) {
        const auto& op = request.operations[i];
        if (!op.is_object())
            throw Error("operation " + std::to_string(i + 1) + " is not a JSON object", ExitCode::Usage);
        if (op.contains("element") && (!op["element"].is_string() || op["element"].get<std::string>().empty()))
            throw Error("operation " + std::to_string(i + 1) + " has an element that is not a non-empty string",
                        ExitCode::Usage);
    }
    for (const auto& element : request.elements)
        if (element.empty() || !validUtf8(element))
            throw Error("element ids must be non-empty UTF-8 strings", ExitCode::Usage);
    // The header must stay readable by every replica; its fixed fields take a few hundred bytes.
    std::size_t described =
        nlohmann::json{{"m", request.message}, {"o", request.operations}, {"e", request.elements}}.dump(2).size();
    if (described + 4096 > kMaxHeaderBytes)
        throw Error("message and operations take " + std::to_string(described) + " bytes; a block header holds at most " +
                        std::to_string(kMaxHeaderBytes) + " (commit fewer or smaller operations per block)",
                    ExitCode::Usage);
}

namespace {

// The header file written into the block after the diff, as it travels in a stream.
constexpr std::uint64_t kHeaderStreamBytes = 2048;

std::vector<std::string> elementsOf(const CommitRequest& request) {
    std::set<std::string> elements(request.elements.begin(), request.elements.end());
    for (const auto& op : request.operations)
        if (op.contains("element"))
            elements.insert(op["element"].get<std::string>());
    return {elements.begin(), elements.end()};
}

struct StagedSnapshot {
    std::string path;
    bool published = false;
    ~StagedSnapshot() {
        if (published || path.empty() || !btrfs::isSubvolume(path))
            return;
        try {
            btrfs::deleteSubvolume(path);
        } catch (const Error&) {
            // Left for cleanStaging() on the next command; never visible as a block.
        }
    }
};

// The header of the block on top of `tip`, everything but its content root, counts and time.
BlockHeader draftHeader(const Chain& chain, const CommitRequest& request, std::optional<std::uint64_t> tip) {
    const ChainIdentity& identity = chain.identity();
    BlockHeader header;
    header.chainId = identity.id;
    header.height = tip ? *tip + 1 : 0;
    header.hashAlgorithm = identity.hashAlgorithm;
    header.footprintFormat = identity.footprintFormat;
    header.features = identity.features;
    header.message = request.message;
    header.operations = request.operations;
    header.elements = elementsOf(request);
    if (tip)
        header.previous = chain.header(*tip).hash().hex();
    return header;
}

} // namespace

// staged snapshot -> footprint -> signed header written into it -> read-only -> renamed
// into blocks/ (the one step that publishes) -> footprint record kept for the next commit.
CommitResult commitBlock(const Chain& chain, const CommitRequest& request) {
    auto started = std::chrono::steady_clock::now();
    validateCommitRequest(request);
    const ChainPaths& paths = chain.paths();
    SigningKey key = chain.signingKey();

    ChainLock lock(paths.lock, chain.label());
    chain.cleanStaging();
    const std::string reserved = paths.data + "/" + kHeaderDirectory;
    if (fs::exists(fs::symlink_status(reserved)))
        throw Error(displayPath(reserved) + ": the name is reserved for block headers and would not be part of the "
                                            "block; move it away",
                    ExitCode::Usage);

    auto tip = chain.tip();
    BlockHeader header = draftHeader(chain, request, tip);
    const std::uint64_t height = header.height;
    StagedSnapshot staged{paths.stagingBlock(height)};
    btrfs::snapshot(paths.data, staged.path, /*readOnly=*/true);
    faultPoint("commit-after-snapshot");

    FootprintRecords records = chain.footprintRecords();
    // Built on the tip's record and the kernel's diff when both are usable, else hashed whole.
    FootprintStats stats;
    RecordedFootprint footprint = recordFootprint(records, height, staged.path, tip,
                                                  tip ? paths.block(*tip) : std::string(), chain.footprintOptions(),
                                                  &stats);
    faultPoint("commit-after-footprint");
    header.contentRoot = footprint.result.root.hex();
    header.counts = footprint.result.counts;
    header.timestamp = utcTimestampNow();
    header.sign(key);

    btrfs::setReadOnly(staged.path, false);
    writeHeaderDirectory(staged.path, header);
    faultPoint("commit-header-written"); // the staged snapshot is writable here
    btrfs::setReadOnly(staged.path, true);
    faultPoint("commit-before-publish");

    if (::rename(staged.path.c_str(), paths.block(height).c_str()) != 0)
        throwSystemError("cannot publish block " + std::to_string(height) + " of " + chain.label(), errno);
    staged.published = true;
    faultPoint("commit-after-publish");

    // The record names paths for deep verification and speeds up the next commit;
    // losing it costs a full hash, not correctness.
    try {
        records.keep(height, *footprint.record, footprint.derivedFromParent);
        if (footprint.diffStreamBytes) // what senders plan with: the block's stream from its parent
            recordStreamBytes(chain, height, *footprint.diffStreamBytes + kHeaderStreamBytes);
    } catch (const Error&) {
    }

    CommitResult result;
    result.header = header;
    result.incrementalFootprint = footprint.derivedFromParent;
    result.filesHashed = stats.filesHashed;
    result.bytesHashed = stats.bytesHashed;
    result.entriesReused = stats.entriesReused;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

} // namespace sc
