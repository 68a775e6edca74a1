#include "core/ledger/stream_estimate.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/base/height_names.h"
#include "core/btrfs/kernel_diff.h"
#include "core/ledger/chain.h"

#include <charconv>

namespace sc {

namespace {

// Measured on a full stream of 18k entries: about 440 bytes of commands per entry
// (create, rename, owner, mode, times) besides the file data.
constexpr std::uint64_t kMetadataBytesPerEntry = 450;

std::string recordFile(const Chain& chain, std::uint64_t height) {
    return chain.paths().footprints + "/" + heightName(height) + ".stream-bytes";
}

std::optional<std::uint64_t> recordedStreamBytes(const Chain& chain, std::uint64_t height) {
    try {
        std::string text = readSmallFile(recordFile(chain, height), 64);
        std::uint64_t bytes = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bytes);
        if (ec == std::errc() && end != text.data())
            return bytes;
    } catch (const Error&) {
    }
    return std::nullopt;
}

} // namespace

void recordStreamBytes(const Chain& chain, std::uint64_t height, std::uint64_t bytes) {
    writeFileAtomically(recordFile(chain, height), std::to_string(bytes) + "\n");
}

std::uint64_t estimateStreamBytes(const Chain& chain, std::uint64_t height, std::optional<std::uint64_t> parent,
                                  std::uint32_t protocol) {
    if (parent && *parent + 1 == height)
        if (auto recorded = recordedStreamBytes(chain, height))
            return *recorded;
    if (!parent) {
        FootprintCounts counts = chain.header(height).counts;
        std::uint64_t entries = counts.entries() + 1; // and the root
        return counts.bytes + entries * kMetadataBytesPerEntry;
    }
    // The no-data stream of the same pair: its own bytes plus the file data it leaves out.
    std::uint64_t metadataBytes = 0;
    ChangeSet changes = kernelDiff(chain.paths().block(*parent), chain.paths().block(height), &metadataBytes, protocol,
                                   /*maxPaths=*/0); // counts only
    return metadataBytes + changes.dataBytes;
}

} // namespace sc
