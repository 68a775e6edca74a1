#pragma once
// Changes to a regular file of every kind the kernel's diff must report (writes with
// the mtime put back, appends, truncates, hole punching, zeroing, preallocation, clones
// of a range, a same-size rewrite), and the check that every 4 KiB block whose bytes
// differ lies inside the byte ranges a ChangeSet recorded for the file.
#include "core/base/byte_range.h"

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace sctest {

// Writes `bytes` at `offset` in place, then puts the old atime and mtime back: only ctime
// and the kernel's extent diff can tell the file changed.
void writeKeepingMtime(const std::string& path, std::uint64_t offset, const std::string& bytes);

// Random contents of `size` bytes; sparse: every fourth MiB from the second on is a hole.
void makeFile(const std::string& path, std::uint64_t size, bool sparse, std::mt19937_64& rng);

// Clones take their range from this file, next to the changed ones.
inline const std::string kCloneSource = "clone-source";

struct FileChange {
    std::string name;
    bool sparse = false; // the file it changes starts sparse
    bool small = false;  // changes well under 1 MiB of an 8 MiB file
    std::function<void(const std::string& dir, const std::string& file, std::mt19937_64& rng)> apply;
};
// One of each kind, each meant for its own 8 MiB file named after it.
std::vector<FileChange> fileChangeKinds();

// One change of a random kind to dir/file (kept under 16 MiB); returns what it did.
std::string applyRandomChange(const std::string& dir, const std::string& file, std::mt19937_64& rng);

struct RangeCoverage {
    std::uint64_t differingBlocks = 0;
    std::uint64_t sizeChangeBlocks = 0; // differing blocks gone in a shrink or holding the smaller end
    std::uint64_t rangeCount = 0;
    std::uint64_t rangeBytes = 0;
    std::vector<std::uint64_t> missed; // offsets of differing blocks the ranges leave out
    std::string summary() const;
};
// Compares the two contents block by block as the footprint relies on them: a changed
// size re-reads the block holding the smaller end and drops what lies past the new end;
// bytes a grow adds count as zeros (holes) unless a range names them (the kernel reports
// a grow by TRUNCATE alone). Any other differing block must lie inside the ranges, and
// a file whose size changed must have ranges at all.
RangeCoverage checkCoverage(const std::string& before, const std::string& after,
                            const std::vector<sc::ByteRange>* ranges);

} // namespace sctest
