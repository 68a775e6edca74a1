#pragma once
// Computing footprints: a Merkle tree over a snapshot's directory tree that comes
// out identical on a btrfs-received replica. Per entry it covers type, permission
// bits, uid, gid, size, mtime, rdev, sorted xattrs and the payload (file bytes,
// symlink target, or the sorted listing of name + child digest); never ctime,
// inode numbers, UUIDs, generations, atime or nlink.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/btrfs/change_set.h"
#include "core/footprint/footprint_entries.h"
#include "core/footprint/footprint_tree.h"

namespace sc {

struct FootprintOptions {
    HashAlgorithm algorithm = HashAlgorithm::Sha256;
    std::uint32_t features = kFootprintAllFeatures;
    std::uint32_t format = kNewestFootprintFormat;
    std::vector<std::string> excludedRootNames{".streamchain"}; // the block header lives there
    unsigned threads = 0;                                      // 0 = one per core
    // Bounds for a tree someone else made (a received block), from what its signed header
    // declares. A file larger than maxFileBytes cannot be in the block: it is not read, and
    // stands in the tree with a digest no content has (so a diff still names it). More
    // entries, or more bytes to hash, throw UnhashableBlock; `cancelled` throws sc::Error.
    std::uint64_t maxEntries = UINT64_MAX;   // entries looked at (walked or reused), the root included
    std::uint64_t maxFileBytes = UINT64_MAX;
    std::uint64_t maxHashBytes = UINT64_MAX; // file bytes to hash in all
    const std::atomic<bool>* cancelled = nullptr;
};

// A tree that holds more than the bounds allow (FootprintOptions::maxEntries and
// maxHashBytes, set from a block's signed header): it cannot be that block.
class UnhashableBlock : public Error {
public:
    using Error::Error;
};

struct FootprintStats {
    std::uint64_t filesHashed = 0, bytesHashed = 0, entriesReused = 0, directoriesListed = 0;
};

// What a walk yields besides its entries: the root digest a header signs, and the counts
// it declares.
struct FootprintResult {
    Digest root;
    FootprintCounts counts;
};

// The settings a record of a footprint made with `options` carries.
EntryStreamInfo recordSettingsOf(const FootprintOptions& options);

// The footprint of the tree at `root`, every entry handed to `sink` in walk order as it is
// met (digests follow once hashed). Memory stays in proportion to the largest directory
// and the files hashed at once, not to the tree.
FootprintResult walkFootprint(const std::string& root, const FootprintOptions& options, EntrySink& sink,
                              FootprintStats* stats = nullptr);

// Recompute only what `changes` names (plus every other name of a hard-linked inode it
// names: the kernel's diff names an inode once); reuse the rest from `previous` when its
// cache guard (type, inode, ctime, mtime, size, link count) still holds. `changes` must
// come from the disk (the kernel's diff of `previous`'s snapshot and `root`), never from
// a sender's claim. Same result as walkFootprint on the same tree. `parentRoot` is the
// snapshot `previous` describes and the diff started from; a format-2 file the diff names
// keeps its parent's unchanged chunks (only if the parent's file still matches its
// guard). "" re-hashes changed files whole. `previous` is read front to back, never held.
FootprintResult walkFootprintUpdate(const std::string& root, const std::string& parentRoot,
                                    const OpenEntries& previous, const ChangeSet& changes,
                                    const FootprintOptions& options, EntrySink& sink,
                                    FootprintStats* stats = nullptr);

// `changes` plus the other names, in `previous`, of every hard-linked inode it touches.
ChangeSet withEveryNameOfChangedInodes(const std::string& root, const OpenEntries& previous,
                                       const ChangeSet& changes);

// The same, with the trees held in memory (small trees and tests).
FootprintTree computeFootprint(const std::string& root, const FootprintOptions& options,
                               FootprintStats* stats = nullptr);
FootprintTree updateFootprint(const std::string& root, const std::string& parentRoot, const FootprintTree& previous,
                              const ChangeSet& changes, const FootprintOptions& options,
                              FootprintStats* stats = nullptr);

} // namespace sc
