#pragma once
// What every workload operation shares: the one seeded random engine (so a seed
// replays the same operations), the tree below the root as it is now, fresh
// awkward names, ways to create each kind of entry, and the round's log.
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <sys/types.h>
#include <vector>

#include "core/footprint/chunk_tree.h"
#include "tests/support/awkward_names.h"
#include "tests/support/fs_tree.h"

namespace sctest {

// Footprint format 2 hashes a file in chunks of this size: the boundaries where its
// re-hashing of changed chunks could go wrong.
constexpr std::uint64_t kChunk = sc::kFootprintChunkSize;

struct FsWorkloadOptions {
    bool hardLinks = true;                           // off only to look past a known hard-link bug
    bool setIdAfterChown = true; // off only to look past send/receive losing setuid/setgid bits
    // Off only to look past btrfs receive failing with ENOSPC where an xattr value grows in place
    // to near the item limit (the replica's leaf lacks room the primary's had): changed values
    // are then cut to 2000 bytes, drawn as before so the run is otherwise the same.
    bool largeXattrChanges = true;
    std::uint64_t dataBudget = 40ull << 20;          // file bytes the tree may hold (holes aside)
    std::uint64_t apparentBudget = 96ull << 20;      // sizes with holes: what every footprint hashes
    std::size_t entryBudget = 400;
    std::size_t maxPathBytes = 1000;                 // relative paths stay below this
    std::uint64_t sparseOffsetLimit = 32ull << 20;   // ordinary sparse writes land below this
    std::uint64_t hugeSparseOffset = 4ull << 30;     // huge ones above it: past 32-bit offsets
};

class WorkloadContext {
public:
    WorkloadContext(std::string root, std::uint64_t seed, FsWorkloadOptions options);

    const FsWorkloadOptions& options() const { return options_; }
    std::string absolute(const std::string& relative) const;

    // Randomness.
    std::uint64_t below(std::uint64_t bound); // [0, bound); 0 when bound is 0
    std::uint64_t between(std::uint64_t low, std::uint64_t high); // [low, high]
    bool chance(unsigned percent);
    std::string content(std::size_t bytes); // random, repetitive text or zeros
    std::size_t fileSize();                 // mostly small, now and then a few MiB
    std::size_t multiChunkSize();           // 1 MiB - 1 to 7 MiB, often a chunk multiple or one off it
    // An offset in [0, size). When the file spans chunks, often on or one byte off a
    // chunk boundary, or in the last chunk (short unless the size is a multiple).
    std::uint64_t offsetIn(std::uint64_t size);
    std::uint64_t nearBoundary(std::uint64_t boundary); // boundary - 1, boundary or boundary + 1
    std::mt19937_64& engine() { return random_; }
    template <class T> const T& oneOf(const std::vector<T>& items) { return items[below(items.size())]; }

    // The tree, walked again after changed().
    const std::vector<FsEntry>& tree();
    void changed() { treeStale_ = true; }
    std::optional<FsEntry> pick(const std::function<bool(const FsEntry&)>& wanted);
    FsEntry pickFile();         // a regular file; makes one if there is none
    std::string pickDirectory(); // "" (the root) included
    std::string newPathIn(const std::string& dir); // an unused name that keeps the path short enough
    std::string newPath();
    std::string newDirectoryPath(); // often at the top, so the tree stays bushy
    std::string newName() { return names_.next(); }
    std::size_t longestPathWithin(const std::string& dir); // bytes, of dir or anything below it

    // Creating entries (each logs what it did).
    bool writeFile(const std::string& relative, std::size_t size, mode_t mode);
    bool create(const std::string& relative, mode_t type); // S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, ...
    std::string symlinkTarget();

    // The log of the round.
    void note(const std::string& line) { log_.push_back(line); }
    bool check(bool succeeded, const std::string& what); // logs `what`, and errno if it failed
    std::vector<std::string> takeLog();

    std::vector<std::string>& retypedPaths() { return retyped_; } // paths to change type again later

private:
    bool makeSocket(const std::string& relative, mode_t mode);

    std::string root_;
    FsWorkloadOptions options_;
    std::mt19937_64 random_;
    AwkwardNames names_;
    std::vector<FsEntry> tree_;
    bool treeStale_ = true;
    std::vector<std::string> log_;
    std::vector<std::string> retyped_;
};

std::string octal(mode_t mode);
// "4096", "3145727 (3 MiB - 1)" (sizes and offsets read by chunk) or "5368709120 (5+ GiB)".
std::string describeBytes(std::uint64_t bytes);
std::string describeRange(std::uint64_t offset, std::uint64_t length); // "[offset, +length)"

} // namespace sctest
