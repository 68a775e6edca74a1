#pragma once
// A new block's footprint with its record written as the walk goes, as a commit and a
// replica's check both make it: built on the parent block's record and the kernel's diff
// of the two snapshots when both are usable, else hashed whole. An unusable record or
// diff costs a full hash, never a wrong root.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/footprint/footprint.h"
#include "core/footprint/footprint_records.h"

namespace sc {

struct RecordedFootprint {
    FootprintResult result;
    std::unique_ptr<RecordFileWriter> record; // finished; keep it once the block is published
    bool derivedFromParent = false;           // built on the parent's record (so keep it as a delta)
    // The kernel's diff: its metadata-only stream's bytes plus the file bytes it names.
    std::optional<std::uint64_t> diffStreamBytes;
};

// The footprint of the snapshot `root`, recorded as `height`'s. `parentHeight` names the
// block to build on (its snapshot at `parentRoot`), or nothing to hash whole. A bound of
// `options` broken (UnhashableBlock) is thrown: hashing whole would break it too.
RecordedFootprint recordFootprint(const FootprintRecords& records, std::uint64_t height, const std::string& root,
                                  std::optional<std::uint64_t> parentHeight, const std::string& parentRoot,
                                  const FootprintOptions& options, FootprintStats* stats = nullptr);

} // namespace sc
