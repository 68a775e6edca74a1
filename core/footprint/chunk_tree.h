#pragma once
// Footprint format 2's digest of a regular file's contents: a Merkle tree over fixed-size
// chunks, so a small write costs the chunks it touched, not the whole file, and holes
// cost nothing to hash. Holes read as zeros, so the digest depends on the bytes only,
// never on how they are allocated (a replica's layout may differ from the primary's).
//
// Shape (RFC 6962's): leaf i = H(0x00 || bytes of chunk i), the last chunk short when the
// size is not a multiple of the chunk size; a node over n > 1 leaves = H(0x01 || left ||
// right), where left covers the largest power of two below n. A file of size 0 is one
// empty leaf, H(0x00).
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "core/base/byte_range.h"
#include "core/base/hash.h"

namespace sc {

// 1 MiB, measured: SHA-256 runs at ~1.6 GB/s here for any buffer from 64 KiB to 4 MiB, so a
// 4 KiB write re-hashes one chunk in ~0.65 ms (a commit costs ~40 ms), while a 1 TiB file
// keeps 32 MiB of leaf digests (64 KiB chunks would keep 512 MiB and save 0.6 ms).
constexpr std::uint64_t kFootprintChunkSize = 1u << 20;

// A file's leaf digests: a chunk absent from `leaves` holds only zeros (a hole).
struct ChunkDigests {
    std::uint64_t size = 0;
    std::map<std::uint64_t, Digest> leaves; // chunk index -> leaf digest
};

// What reading a file's chunks did, and a hook run before each chunk is read (to cancel
// by throwing, or to slow hashing down in tests).
struct ChunkReading {
    std::function<void()> beforeChunk;
    std::uint64_t bytesRead = 0;
};

// How many chunks a file of `size` bytes has: one, empty, when the size is 0.
std::uint64_t chunkCount(std::uint64_t size, std::uint64_t chunkSize = kFootprintChunkSize);

// The root over `chunks`; costs O(stored leaves * log(chunks)) hashes, whatever the size.
Digest chunkTreeRoot(HashAlgorithm algorithm, const ChunkDigests& chunks, std::uint64_t chunkSize = kFootprintChunkSize);

// Leaf digests of an open regular file, reading only its data (SEEK_DATA / SEEK_HOLE).
ChunkDigests hashFileChunks(int fd, HashAlgorithm algorithm, std::vector<char>& buffer,
                            std::uint64_t chunkSize = kFootprintChunkSize, ChunkReading* reading = nullptr);

// `previous` brought up to date with the file as it is now, re-reading only the chunks
// that `changed` touches, plus the old and new last chunks when the size changed.
ChunkDigests rehashFileChunks(int fd, HashAlgorithm algorithm, const ChunkDigests& previous,
                              const std::vector<ByteRange>& changed, std::vector<char>& buffer,
                              std::uint64_t chunkSize = kFootprintChunkSize, ChunkReading* reading = nullptr);

} // namespace sc
