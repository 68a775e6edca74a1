#pragma once
// The benchmark's data, the same for every run with the same seed: a source tree
// of many small files, a few large incompressible files and compressible logs,
// and changes of a given share of it.
#include <cstdint>
#include <string>

namespace bench {

struct DatasetShape {
    std::uint32_t smallFiles = 4000;     // 1-16 KiB of text-like content each
    std::uint32_t largeFiles = 2;        // incompressible
    std::uint64_t largeFileBytes = 64u << 20;
    std::uint64_t logBytes = 48u << 20;  // compressible log lines
    std::uint64_t seed = 1;
    std::uint64_t totalBytes() const;    // roughly
};

DatasetShape quickShape(std::uint64_t seed); // ~150 MB
DatasetShape fullShape(std::uint64_t seed);  // ~1.2 GB

// Writes the dataset below `dir` (src/, big/, logs/).
void writeDataset(const std::string& dir, const DatasetShape& shape);
// Changes about `fraction` of the dataset's bytes (small files rewritten and a stretch of
// one large file overwritten); `round` varies what changes. Returns the bytes changed.
std::uint64_t changeDataset(const std::string& dir, const DatasetShape& shape, double fraction, std::uint32_t round);
// Writes `bytes` of seeded pseudo-random (incompressible, never sparse) content into `path` at
// `offset`, creating the file if needed and keeping what lies outside the stretch.
void writeRandomStretch(const std::string& path, std::uint64_t seed, std::uint64_t bytes, std::uint64_t offset);

} // namespace bench
