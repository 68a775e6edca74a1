#pragma once
// The footprint of a snapshot as a tree of digests, one entry per object, keyed by
// path, held whole in memory: for small trees, tests, the agent's tree transfer and
// naming the paths of a mismatch. Commits, replicas and deep verification stream
// entries instead (footprint_entries.h), so no tree is ever held whole there.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/hash.h"
#include "core/footprint/chunk_tree.h"

namespace sc {

// Format 1 hashes a file's bytes in one pass; format 2 (chunk_tree.h) over 1 MiB chunks.
constexpr std::uint32_t kFootprintFormatWholeFile = 1;
constexpr std::uint32_t kFootprintFormatChunked = 2;
constexpr std::uint32_t kNewestFootprintFormat = kFootprintFormatChunked; // what init makes
inline bool knownFootprintFormat(std::uint32_t format) {
    return format == kFootprintFormatWholeFile || format == kFootprintFormatChunked;
}

// Which metadata the digests cover (content, symlink targets and listings always).
enum FootprintFeature : std::uint32_t {
    FeatureMode = 1u << 0,
    FeatureOwnership = 1u << 1,
    FeatureSize = 1u << 2,
    FeatureMtime = 1u << 3,
    FeatureXattrs = 1u << 4,
    FeatureRdev = 1u << 5,
};
constexpr std::uint32_t kFootprintAllFeatures =
    FeatureMode | FeatureOwnership | FeatureSize | FeatureMtime | FeatureXattrs | FeatureRdev;

enum class EntryType : std::uint8_t { File = 1, Directory, Symlink, CharDevice, BlockDevice, Fifo, Socket };

struct FootprintEntry {
    EntryType type = EntryType::File;
    Digest digest;
    std::uint64_t size = 0;
    // Cache guards only, never hashed: a reused digest must still describe the same inode.
    std::uint64_t inode = 0;
    std::int64_t ctimeNs = 0;
    std::int64_t mtimeNs = 0;
    std::uint32_t nlink = 1;
    // Format 2, a file of more than one chunk: its leaf digests, so the next block re-hashes
    // only the chunks that changed. Shared: a reused entry is copied from tree to tree.
    std::shared_ptr<const ChunkDigests> chunks;
};

// What a footprint covers; a block header carries it so a replica can bound its own work.
struct FootprintCounts {
    std::uint64_t files = 0, directories = 0, symlinks = 0, others = 0;
    std::uint64_t bytes = 0; // total size of regular files
    std::uint64_t entries() const { return files + directories + symlinks + others; } // the root not counted
};
void countEntry(FootprintCounts& counts, const FootprintEntry& entry); // adds one entry (never the root)

class FootprintTree {
public:
    FootprintTree() = default;
    FootprintTree(HashAlgorithm algorithm, std::uint32_t features, std::uint32_t format)
        : algorithm_(algorithm), features_(features), format_(format) {}

    Digest root() const { return root_; }
    void setRoot(const Digest& root) { root_ = root; }
    HashAlgorithm algorithm() const { return algorithm_; }
    std::uint32_t features() const { return features_; }
    std::uint32_t format() const { return format_; }

    const FootprintEntry* find(const std::string& path) const;
    const FootprintEntry& at(const std::string& path) const; // throws sc::Error if absent
    void put(const std::string& path, const FootprintEntry& entry) { entries_[path] = entry; }
    void erase(const std::string& path) { entries_.erase(path); }
    const std::map<std::string, FootprintEntry>& entries() const { return entries_; }
    // Copy `path` and everything below it from another tree.
    void copySubtree(const FootprintTree& from, const std::string& path);
    std::vector<std::string> children(const std::string& dir) const; // direct children's full paths
    std::size_t size() const { return entries_.size(); }
    // False for a tree read from a record older streamchains wrote: good for naming
    // paths, never to build a new footprint on.
    bool reusable() const { return reusable_; }
    void markNotReusable() { reusable_ = false; }
    FootprintCounts counts() const; // the root directory itself not counted

    // Versioned binary file with a trailing digest; save is atomic (temp, fsync, rename).
    void save(const std::string& file) const;
    static FootprintTree load(const std::string& file); // throws sc::Error on anything malformed
    std::string serialize() const;                      // the file's bytes
    static FootprintTree deserialize(const std::string& bytes, const std::string& what);

private:
    HashAlgorithm algorithm_ = HashAlgorithm::Sha256;
    std::uint32_t features_ = kFootprintAllFeatures;
    std::uint32_t format_ = kNewestFootprintFormat;
    Digest root_;
    bool reusable_ = true;
    std::map<std::string, FootprintEntry> entries_;
};

enum class DifferenceKind { Added, Removed, Changed };
struct FootprintDifference {
    std::string path;
    DifferenceKind kind;
};
// Where `actual` differs from `expected`, descending only into differing directories.
std::vector<FootprintDifference> diffFootprints(const FootprintTree& expected, const FootprintTree& actual);

// A raw path shown on one line: non-printable and non-UTF-8 bytes as \xNN; "" is "/".
std::string displayPath(std::string_view rawPath);

} // namespace sc
