#pragma once
// The footprint tree of every block, kept beside the chain so deep verification can
// name the paths that differ in any block, and the next commit can re-hash only
// what changed. Most records are deltas against the parent block's tree; every
// kCheckpointInterval-th one is complete, so reading one costs a bounded replay. Records
// are written and read as streams in walk order (footprint_record_file.h): no step holds
// a whole tree.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/footprint/footprint_record_file.h"

namespace sc {

class FootprintRecords {
public:
    static constexpr std::uint64_t kCheckpointInterval = 32;

    explicit FootprintRecords(std::string directory);
    // A writer for the record of `height`; it stays a temporary file until keep().
    std::unique_ptr<RecordFileWriter> startRecord(std::uint64_t height, const EntryStreamInfo& settings) const;
    // Keeps a finished record: as a delta against height - 1's when `againstParent` and
    // `height` is no checkpoint, else complete.
    void keep(std::uint64_t height, RecordFileWriter& finished, bool againstParent) const;
    // The same for a tree held in memory.
    void save(std::uint64_t height, const FootprintTree& tree, bool againstParent) const;

    // The entries of `height`'s tree, or null when its records are missing or damaged
    // (checksums are checked here; a malformed entry still throws sc::Error while reading).
    std::unique_ptr<EntrySource> open(std::uint64_t height) const;
    // The same, only if it is fit to build the next footprint on (see FootprintTree::reusable).
    std::unique_ptr<EntrySource> openReusable(std::uint64_t height) const;
    // Opens `height`'s reusable entries for each pass of a walk, handing out `opened` (the
    // first, already open) first; throws sc::Error if the records went away meanwhile.
    OpenEntries reopening(std::uint64_t height, std::unique_ptr<EntrySource> opened) const;
    // The whole tree, for naming the paths of a mismatch.
    std::optional<FootprintTree> load(std::uint64_t height) const;
    // Removes what a writer killed before keep() left (call with the chain or replica locked).
    void removeUnfinished() const;

private:
    std::string fullFile(std::uint64_t height) const;
    std::string deltaFile(std::uint64_t height) const;
    std::string directory_;
};

} // namespace sc
