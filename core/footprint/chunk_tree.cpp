#include "core/footprint/chunk_tree.h"

#include "core/base/error.h"
#include "core/base/file_io.h"

#include <bit>
#include <cerrno>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace sc {

namespace {

constexpr std::uint8_t kLeafTag = 0x00;
constexpr std::uint8_t kNodeTag = 0x01;

std::uint64_t chunkLength(std::uint64_t index, std::uint64_t size, std::uint64_t chunkSize) {
    std::uint64_t start = index * chunkSize;
    return start >= size ? 0 : std::min(chunkSize, size - start);
}

// Computes roots of subtrees; an all-zero subtree of full chunks depends only on its leaf
// count, so it is hashed once per count (at most two counts per level).
class RootBuilder {
public:
    RootBuilder(HashAlgorithm algorithm, const ChunkDigests& chunks, std::uint64_t chunkSize)
        : hasher_(algorithm), chunks_(chunks), chunkSize_(chunkSize), count_(chunkCount(chunks.size, chunkSize)) {}

    Digest root() { return subtree(0, count_); }

private:
    Digest subtree(std::uint64_t start, std::uint64_t count) {
        const bool holdsShortLast = start + count == count_ && chunkLength(count_ - 1, chunks_.size, chunkSize_) != chunkSize_;
        auto firstLeaf = chunks_.leaves.lower_bound(start);
        const bool allZero = firstLeaf == chunks_.leaves.end() || firstLeaf->first >= start + count;
        if (allZero && !holdsShortLast) {
            auto known = zeroSubtrees_.find(count);
            if (known != zeroSubtrees_.end())
                return known->second;
            return zeroSubtrees_[count] = combine(start, count);
        }
        return combine(start, count);
    }

    Digest combine(std::uint64_t start, std::uint64_t count) {
        if (count == 1)
            return leaf(start);
        std::uint64_t left = std::bit_floor(count - 1); // the largest power of two below count
        Digest l = subtree(start, left);
        Digest r = subtree(start + left, count - left);
        return hasher_.updateU8(kNodeTag).updateDigest(l).updateDigest(r).finish();
    }

    Digest leaf(std::uint64_t index) {
        auto stored = chunks_.leaves.find(index);
        if (stored != chunks_.leaves.end())
            return stored->second;
        std::uint64_t length = chunkLength(index, chunks_.size, chunkSize_);
        if (zeros_.size() < length)
            zeros_.assign(length, 0);
        return hasher_.updateU8(kLeafTag).update(std::span<const std::uint8_t>(zeros_.data(), length)).finish();
    }

    Hasher hasher_;
    const ChunkDigests& chunks_;
    const std::uint64_t chunkSize_, count_;
    std::map<std::uint64_t, Digest> zeroSubtrees_;
    std::vector<std::uint8_t> zeros_;
};

std::uint64_t fileSize(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throwSystemError("cannot stat a file being hashed", errno);
    if (!S_ISREG(st.st_mode))
        throw Error("chunk digests: not a regular file");
    return static_cast<std::uint64_t>(st.st_size);
}

// The next offset at or after `from` that holds data, or `size` if none (or the
// filesystem cannot tell: then everything counts as data).
std::uint64_t nextData(int fd, std::uint64_t from, std::uint64_t size) {
    if (from >= size)
        return size;
    off_t at = ::lseek(fd, static_cast<off_t>(from), SEEK_DATA);
    if (at >= 0)
        return std::min(static_cast<std::uint64_t>(at), size);
    if (errno == ENXIO)
        return size;
    if (errno == EINVAL)
        return from;
    throwSystemError("cannot find the data of a file being hashed", errno);
}

std::uint64_t nextHole(int fd, std::uint64_t from, std::uint64_t size) {
    off_t at = ::lseek(fd, static_cast<off_t>(from), SEEK_HOLE);
    if (at < 0)
        return size;
    return std::min(static_cast<std::uint64_t>(at), size);
}

Digest hashChunk(int fd, Hasher& hasher, std::uint64_t index, std::uint64_t size, std::uint64_t chunkSize,
                 std::vector<char>& buffer, ChunkReading* reading) {
    std::uint64_t offset = index * chunkSize;
    std::uint64_t left = chunkLength(index, size, chunkSize);
    if (reading) {
        if (reading->beforeChunk)
            reading->beforeChunk();
        reading->bytesRead += left;
    }
    hasher.updateU8(kLeafTag);
    if (buffer.size() < 1u << 16)
        buffer.resize(1u << 20);
    while (left > 0) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
        if (preadFull(fd, buffer.data(), want, offset, "cannot read a file being hashed") < want)
            throw Error("a file shrank while it was hashed");
        hasher.update(std::string_view(buffer.data(), want));
        offset += want;
        left -= want;
    }
    return hasher.finish();
}

// Hashes chunk `index` if any of it holds data; otherwise forgets it (a hole now).
void refreshChunk(int fd, Hasher& hasher, ChunkDigests& chunks, std::uint64_t index, std::uint64_t chunkSize,
                  std::vector<char>& buffer, ChunkReading* reading) {
    std::uint64_t start = index * chunkSize;
    std::uint64_t end = start + chunkLength(index, chunks.size, chunkSize);
    if (nextData(fd, start, chunks.size) < end)
        chunks.leaves[index] = hashChunk(fd, hasher, index, chunks.size, chunkSize, buffer, reading);
    else
        chunks.leaves.erase(index);
}

} // namespace

std::uint64_t chunkCount(std::uint64_t size, std::uint64_t chunkSize) {
    return size == 0 ? 1 : (size - 1) / chunkSize + 1;
}

Digest chunkTreeRoot(HashAlgorithm algorithm, const ChunkDigests& chunks, std::uint64_t chunkSize) {
    return RootBuilder(algorithm, chunks, chunkSize).root();
}

ChunkDigests hashFileChunks(int fd, HashAlgorithm algorithm, std::vector<char>& buffer, std::uint64_t chunkSize,
                            ChunkReading* reading) {
    ChunkDigests chunks;
    chunks.size = fileSize(fd);
    Hasher hasher(algorithm);
    std::uint64_t position = 0;
    while ((position = nextData(fd, position, chunks.size)) < chunks.size) {
        std::uint64_t hole = std::max(nextHole(fd, position, chunks.size), position + 1);
        std::uint64_t first = position / chunkSize, last = (hole - 1) / chunkSize;
        for (std::uint64_t index = first; index <= last; ++index)
            chunks.leaves[index] = hashChunk(fd, hasher, index, chunks.size, chunkSize, buffer, reading);
        position = (last + 1) * chunkSize;
    }
    return chunks;
}

ChunkDigests rehashFileChunks(int fd, HashAlgorithm algorithm, const ChunkDigests& previous,
                              const std::vector<ByteRange>& changed, std::vector<char>& buffer,
                              std::uint64_t chunkSize, ChunkReading* reading) {
    ChunkDigests chunks = previous;
    chunks.size = fileSize(fd);
    const std::uint64_t count = chunkCount(chunks.size, chunkSize);
    chunks.leaves.erase(chunks.leaves.lower_bound(count), chunks.leaves.end());
    std::set<std::uint64_t> stale;
    // A size change alters the old last chunk's length (or makes it the new, shorter last
    // one); chunks it adds past the old end are holes until a write range names them.
    if (chunks.size != previous.size)
        stale.insert(std::min(chunkCount(previous.size, chunkSize), count) - 1);
    for (const ByteRange& range : changed) {
        if (range.length == 0 || range.offset >= chunks.size)
            continue;
        std::uint64_t end = std::min(chunks.size, range.offset + std::min(range.length, chunks.size));
        for (std::uint64_t index = range.offset / chunkSize; index <= (end - 1) / chunkSize; ++index)
            stale.insert(index);
    }
    Hasher hasher(algorithm);
    for (std::uint64_t index : stale)
        refreshChunk(fd, hasher, chunks, index, chunkSize, buffer, reading);
    return chunks;
}

} // namespace sc
