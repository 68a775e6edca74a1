// Changes aimed at footprint format 2's 1 MiB chunks, on files that span
// several: a few bytes overwritten in place with the old mtime restored (only
// the kernel's extent diff tells), appends across a chunk boundary, truncation
// into the middle of a chunk, a hole over a whole chunk, a range reflinked in
// at a chunk boundary, and a whole rewrite that changes one byte (every extent
// new, one chunk's bytes different).
#include "core/base/error.h"
#include "core/base/file_io.h"
#include "tests/support/fs_workload_operations.h"

#include <algorithm>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sctest {

namespace {

constexpr std::uint64_t kBlock = 4096;         // clone ranges must be block aligned
constexpr std::uint64_t kLargest = 8ull << 20; // read whole and rewritten: keep it cheap
constexpr std::size_t kMultiChunkFiles = 3;    // kept in the tree at all times

bool spansChunks(const FsEntry& e) {
    return e.isFile() && e.size >= kChunk - 1 && e.size <= kLargest;
}

sc::FileDescriptor openFile(WorkloadContext& c, const std::string& relative, int flags) {
    return sc::FileDescriptor(::open(c.absolute(relative).c_str(), flags | O_CLOEXEC, 0644));
}

bool writeAt(int fd, const std::string& data, std::uint64_t offset) {
    return fd >= 0 && ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)) ==
                          static_cast<ssize_t>(data.size());
}

bool restoreMtime(int fd, const struct stat& before) {
    struct timespec times[2] = {{0, UTIME_OMIT}, before.st_mtim};
    return ::futimens(fd, times) == 0;
}

// A file of 1 to 7 chunks, dense or holes with a few islands of data.
FsEntry addFileSpanningChunks(WorkloadContext& c) {
    std::string path = c.newPath();
    std::uint64_t size = c.multiChunkSize();
    if (c.chance(70)) {
        c.writeFile(path, size, 0644);
    } else {
        sc::FileDescriptor fd = openFile(c, path, O_WRONLY | O_CREAT | O_EXCL);
        bool done = fd && ::ftruncate(fd.get(), static_cast<off_t>(size)) == 0;
        std::string islands;
        for (std::uint64_t n = c.between(1, 3); done && n > 0; --n) {
            std::uint64_t offset = c.offsetIn(size);
            std::uint64_t length = std::min(size - offset, c.between(1, 128 << 10));
            done = writeAt(fd.get(), c.content(length), offset);
            islands += " " + describeRange(offset, length);
        }
        c.check(done, "sparse file " + quotedPath(path) + " size " + describeBytes(size) + " with data at" +
                          islands);
    }
    c.changed();
    if (auto made = c.pick([&](const FsEntry& e) { return e.path == path; }))
        return *made;
    return {path, S_IFREG | 0644, 1, 0, 0}; // creation failed (logged); the operation fails on it too
}

FsEntry pickFileSpanningChunks(WorkloadContext& c) {
    if (auto file = c.pick(spansChunks))
        return *file;
    return addFileSpanningChunks(c);
}

void overwriteKeepingMtime(WorkloadContext& c) {
    FsEntry file = pickFileSpanningChunks(c);
    struct stat before {};
    ::lstat(c.absolute(file.path).c_str(), &before);
    std::uint64_t offset = c.offsetIn(file.size);
    std::uint64_t length = std::min(file.size - offset, c.between(1, 16));
    sc::FileDescriptor fd = openFile(c, file.path, O_WRONLY);
    c.check(writeAt(fd.get(), c.content(length), offset) && restoreMtime(fd.get(), before),
            "overwrite " + quotedPath(file.path) + " (" + describeBytes(file.size) + ") bytes " +
                describeRange(offset, length) + " in place, keeping its size and mtime");
}

void appendAcrossChunk(WorkloadContext& c) {
    FsEntry file = pickFileSpanningChunks(c);
    std::uint64_t boundary = (file.size / kChunk + 1) * kChunk;
    std::uint64_t length = boundary - file.size + c.between(1, 64 << 10);
    sc::FileDescriptor fd = openFile(c, file.path, O_WRONLY);
    c.check(writeAt(fd.get(), c.content(length), file.size),
            "append " + describeRange(file.size, length) + " to " + quotedPath(file.path) +
                " across the chunk boundary at " + describeBytes(boundary));
}

void truncateMidChunk(WorkloadContext& c) {
    FsEntry file = pickFileSpanningChunks(c);
    std::uint64_t size = c.below(file.size / kChunk + 1) * kChunk + c.between(1, kChunk - 1);
    c.check(::truncate(c.absolute(file.path).c_str(), static_cast<off_t>(size)) == 0,
            "truncate " + quotedPath(file.path) + " from " + describeBytes(file.size) + " to " +
                describeBytes(size) + ", into the middle of a chunk");
}

void punchWholeChunk(WorkloadContext& c) {
    FsEntry file = pickFileSpanningChunks(c);
    std::uint64_t chunk = c.below(std::max<std::uint64_t>(1, (file.size + kChunk - 1) / kChunk));
    std::uint64_t before = chunk > 0 && c.chance(50) ? c.between(1, 256 << 10) : 0;
    std::uint64_t after = c.chance(50) ? c.between(1, 256 << 10) : 0;
    std::uint64_t offset = chunk * kChunk - before;
    std::uint64_t length = before + kChunk + after;
    sc::FileDescriptor fd = openFile(c, file.path, O_WRONLY);
    c.check(fd && ::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                              static_cast<off_t>(offset), static_cast<off_t>(length)) == 0,
            "punch hole " + describeRange(offset, length) + " over chunk " + std::to_string(chunk) + " of " +
                quotedPath(file.path) + " (" + describeBytes(file.size) + ")");
}

void reflinkAtChunkBoundary(WorkloadContext& c) {
    FsEntry target = pickFileSpanningChunks(c);
    auto other =
        c.pick([&](const FsEntry& e) { return e.isFile() && e.size >= kBlock && e.path != target.path; });
    FsEntry source = other ? *other : target;
    file_clone_range clone{};
    clone.dest_offset = kChunk * c.between(1, std::max<std::uint64_t>(1, target.size / kChunk));
    if (c.chance(30))
        clone.dest_offset -= kBlock; // the block just before the boundary as well
    // From its own start when the source is the target: the range stays clear of
    // the boundary.
    std::uint64_t sourceEnd =
        source.path == target.path ? std::min<std::uint64_t>(kChunk / 2, target.size) : source.size;
    clone.src_offset = source.path == target.path ? 0 : kBlock * c.below(sourceEnd / kBlock);
    std::uint64_t blocks = (sourceEnd - std::min<std::uint64_t>(sourceEnd, clone.src_offset)) / kBlock;
    // Length 0 clones to the source's end, unaligned tail included (the kernel
    // allows that only where it ends the target too).
    clone.src_length = blocks == 0 || (source.path != target.path && c.chance(25))
                           ? 0
                           : kBlock * c.between(1, std::min<std::uint64_t>(blocks, 512));
    sc::FileDescriptor in = openFile(c, source.path, O_RDONLY);
    sc::FileDescriptor out = openFile(c, target.path, O_WRONLY);
    clone.src_fd = in.get();
    c.check(in && out && ::ioctl(out.get(), FICLONERANGE, &clone) == 0,
            "reflink range " + describeRange(clone.src_offset, clone.src_length) + " of " +
                quotedPath(source.path) + " (" + describeBytes(source.size) + ") to offset " +
                describeBytes(clone.dest_offset) + " of " + quotedPath(target.path) + " (" +
                describeBytes(target.size) + ")");
}

void rewriteOneByteDiffers(WorkloadContext& c) {
    FsEntry file = pickFileSpanningChunks(c);
    std::string what = "rewrite " + quotedPath(file.path) + " (" + describeBytes(file.size) + ") whole";
    std::string data;
    try {
        data = sc::readSmallFile(c.absolute(file.path), kLargest + kChunk);
    } catch (const sc::Error& e) {
        c.note(what + " -> failed to read it: " + e.what());
        return;
    }
    if (data.empty()) {
        c.note(what + ": skipped, the file is empty");
        return;
    }
    std::uint64_t at = c.offsetIn(data.size());
    auto old = static_cast<unsigned char>(data[at]);
    data[at] = static_cast<char>(old ^ c.between(1, 255));
    bool keepMtime = c.chance(50);
    struct stat before {};
    ::lstat(c.absolute(file.path).c_str(), &before);
    sc::FileDescriptor fd = openFile(c, file.path, O_WRONLY | O_TRUNC);
    c.check(writeAt(fd.get(), data, 0) && (!keepMtime || restoreMtime(fd.get(), before)),
            what + ", byte " + describeBytes(at) + " changed from " + std::to_string(old) + " to " +
                std::to_string(static_cast<unsigned char>(data[at])) +
                (keepMtime ? ", keeping its mtime" : ""));
}

} // namespace

void keepFilesSpanningChunks(WorkloadContext& c) {
    auto spanning = static_cast<std::size_t>(std::count_if(c.tree().begin(), c.tree().end(), spansChunks));
    for (; spanning < kMultiChunkFiles; ++spanning) {
        c.note("[keep-multi-chunk-files]");
        addFileSpanningChunks(c);
    }
}

std::vector<WorkloadOperation> chunkOperations() {
    return {
        {"overwrite-keeping-mtime", overwriteKeepingMtime},
        {"append-across-chunk", appendAcrossChunk},
        {"truncate-mid-chunk", truncateMidChunk},
        {"punch-whole-chunk", punchWholeChunk},
        {"reflink-at-chunk-boundary", reflinkAtChunkBoundary},
        {"rewrite-one-byte-differs", rewriteOneByteDiffers},
    };
}

} // namespace sctest
