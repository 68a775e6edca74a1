#pragma once
// A footprint tree as a stream of entries in walk order (walk_order.h), so that making,
// keeping, replaying and comparing footprints costs memory in proportion to one
// directory's listing, not to the tree: sources hand entries out one at a time, sinks
// take them in as a walk meets them (a digest may follow once its hashing is done).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/footprint/footprint_tree.h"
#include "core/footprint/walk_order.h"

namespace sc {

// In a delta record, an entry of this type marks a path removed since the parent.
inline constexpr auto kRemovedEntry = static_cast<EntryType>(0);

// What every entry of a stream shares, and the root digest over all of them.
struct EntryStreamInfo {
    HashAlgorithm algorithm = HashAlgorithm::Sha256;
    std::uint32_t features = kFootprintAllFeatures;
    std::uint32_t format = kNewestFootprintFormat;
    Digest root;
    bool reusable = true; // see FootprintTree::reusable
};

class EntrySource {
public:
    virtual ~EntrySource() = default;
    virtual const EntryStreamInfo& info() const = 0;
    // The next entry in walk order, or false at the end. Throws sc::Error on a damaged source.
    virtual bool next(std::string& path, FootprintEntry& entry) = 0;
};

class EntrySink {
public:
    using Slot = std::uint64_t;
    virtual ~EntrySink() = default;
    // Entries arrive in walk order. An entry's digest (and a file's chunk digests) may be
    // given later through complete(), with the slot add() returned.
    virtual Slot add(const std::string& path, const FootprintEntry& entry) = 0;
    virtual void complete(Slot slot, const Digest& digest, std::shared_ptr<const ChunkDigests> chunks) = 0;
};

// Opens a tree's entries in walk order; called once per pass over them.
using OpenEntries = std::function<std::unique_ptr<EntrySource>()>;

// The entries of a tree held in memory, in walk order.
class TreeSource : public EntrySource {
public:
    explicit TreeSource(const FootprintTree& tree);
    const EntryStreamInfo& info() const override { return info_; }
    bool next(std::string& path, FootprintEntry& entry) override;

private:
    EntryStreamInfo info_;
    std::vector<const std::pair<const std::string, FootprintEntry>*> ordered_;
    std::size_t at_ = 0;
};

// Collects a stream into a tree in memory (for small trees, tests, and naming the paths
// of a mismatch).
class TreeSink : public EntrySink {
public:
    Slot add(const std::string& path, const FootprintEntry& entry) override;
    void complete(Slot slot, const Digest& digest, std::shared_ptr<const ChunkDigests> chunks) override;
    FootprintTree finish(HashAlgorithm algorithm, std::uint32_t features, std::uint32_t format, const Digest& root);

private:
    std::vector<std::pair<std::string, FootprintEntry>> entries_;
};

// Takes entries and keeps nothing: for a root digest alone.
class DiscardingSink : public EntrySink {
public:
    Slot add(const std::string&, const FootprintEntry&) override { return 0; }
    void complete(Slot, const Digest&, std::shared_ptr<const ChunkDigests>) override {}
};

FootprintTree readWholeTree(EntrySource& source);

// A complete record and the deltas after it, oldest first, read as one stream: for each
// path the newest source that names it wins, and a removal marker drops the path.
class MergedSource : public EntrySource {
public:
    explicit MergedSource(std::vector<std::unique_ptr<EntrySource>> oldestFirst);
    const EntryStreamInfo& info() const override { return info_; }
    bool next(std::string& path, FootprintEntry& entry) override;

private:
    struct Head {
        std::unique_ptr<EntrySource> source;
        std::string path;
        FootprintEntry entry;
        bool valid = false;
    };
    std::vector<Head> heads_;
    EntryStreamInfo info_;
};

// The previous block's entries, looked up in walk order: each lookup moves forward only,
// so the whole record is read once, never held.
class PreviousEntries {
public:
    explicit PreviousEntries(EntrySource& source);
    // The entry at `path`, or null; valid until the next call. Paths must not go back in walk order.
    const FootprintEntry* find(const std::string& path);
    // Hands `path` (just found) and every entry below it to `each`, moving past them.
    template <typename Each>
    void copySubtree(const std::string& path, Each&& each) {
        while (valid_ && isAtOrBelow(path_, path)) {
            each(path_, entry_);
            advance();
        }
    }

private:
    void advance();
    EntrySource& source_;
    std::string path_;
    FootprintEntry entry_;
    bool valid_ = false;
};

} // namespace sc
