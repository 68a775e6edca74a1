#pragma once
// Reading what a footprint covers of one object beyond its stat: extended attributes,
// and a regular file's contents, whole (format 1) or as chunk digests (format 2). Each
// opens the path without following links and refuses what is no longer a regular file.
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/base/byte_range.h"
#include "core/base/hash.h"
#include "core/footprint/chunk_tree.h"

namespace sc {

// Every xattr of `path` (not followed if a link), sorted by name.
std::vector<std::pair<std::string, std::string>> readXattrs(const std::string& path);

// Throws sc::Error("footprint cancelled") once `cancelled` is set.
void throwIfFootprintCancelled(const std::atomic<bool>* cancelled);

// Format 1: H(every byte of the file).
Digest hashWholeFile(const std::string& path, HashAlgorithm algorithm, std::vector<char>& buffer,
                     const std::atomic<bool>* cancelled);

// Format 2: the file's chunk digests; with `base` (its digests in the parent block), only the
// chunks `written` touches and those a size change alters are read. Adds to `bytesRead`.
ChunkDigests hashFileChunksAt(const std::string& path, HashAlgorithm algorithm, const ChunkDigests* base,
                              const std::vector<ByteRange>& written, std::vector<char>& buffer,
                              const std::atomic<bool>* cancelled, std::uint64_t& bytesRead);

} // namespace sc
