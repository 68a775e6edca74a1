// File contents: writes that keep the size, appends, truncation, holes punched and
// zeroed, preallocation, sparse data far into a file, and reflinked whole files
// and ranges (shared extents the kernel's diff reports as clones). Offsets in a file
// that spans footprint chunks fall on or next to chunk boundaries often.
#include "tests/support/fs_workload_operations.h"

#include "core/base/file_io.h"

#include <algorithm>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sctest {

namespace {

constexpr std::uint64_t kBlock = 4096; // clone ranges must be block aligned

// A file opened for writing; closes itself.
class OpenFile {
public:
    OpenFile(WorkloadContext& context, const std::string& relative, int flags = O_WRONLY)
        : fd_(::open(context.absolute(relative).c_str(), flags | O_CLOEXEC, 0644)) {}
    int fd() const { return fd_.get(); }
    bool write(const std::string& data, std::uint64_t offset) const {
        return fd_ && ::pwrite(fd_.get(), data.data(), data.size(), static_cast<off_t>(offset)) ==
                          static_cast<ssize_t>(data.size());
    }

private:
    sc::FileDescriptor fd_;
};

void rewriteKeepingSize(WorkloadContext& c, const FsEntry& file) {
    if (file.size == 0) {
        OpenFile out(c, file.path);
        c.check(out.write(c.content(100), 0), "write 100 bytes into empty file " + quotedPath(file.path));
        return;
    }
    struct stat before {};
    ::lstat(c.absolute(file.path).c_str(), &before);
    std::uint64_t offset = c.offsetIn(file.size);
    // A few bytes at a chunk boundary straddle it or touch one side only.
    std::uint64_t length =
        c.between(1, std::min<std::uint64_t>(file.size - offset, c.chance(40) ? 16 : 256 << 10));
    bool keepMtime = c.chance(30); // same size and mtime: only the contents tell
    OpenFile out(c, file.path);
    bool done = out.write(c.content(length), offset);
    if (done && keepMtime) {
        struct timespec times[2] = {{0, UTIME_OMIT}, before.st_mtim};
        done = ::futimens(out.fd(), times) == 0;
    }
    c.check(done, "rewrite " + quotedPath(file.path) + " bytes " + describeRange(offset, length) +
                      " keeping its size" + (keepMtime ? " and mtime" : ""));
}

void append(WorkloadContext& c, const FsEntry& file) {
    std::size_t length = c.fileSize() / 4 + 1;
    OpenFile out(c, file.path, O_WRONLY | O_APPEND);
    std::string data = c.content(length);
    c.check(out.fd() >= 0 && ::write(out.fd(), data.data(), data.size()) == static_cast<ssize_t>(length),
            "append " + describeRange(file.size, length) + " to " + quotedPath(file.path));
}

void truncateTo(WorkloadContext& c, const FsEntry& file, std::uint64_t size) {
    c.check(::truncate(c.absolute(file.path).c_str(), static_cast<off_t>(size)) == 0,
            "truncate " + quotedPath(file.path) + " from " + describeBytes(file.size) + " to " + describeBytes(size));
}

void shrink(WorkloadContext& c, const FsEntry& file) {
    truncateTo(c, file, c.chance(20) ? 0 : c.offsetIn(file.size));
}

void grow(WorkloadContext& c, const FsEntry& file) {
    truncateTo(c, file, file.size + c.between(1, 8 << 20));
}

void rewriteWithNewSize(WorkloadContext& c, const FsEntry& file) {
    std::size_t size = c.fileSize();
    OpenFile out(c, file.path, O_WRONLY | O_TRUNC);
    c.check(out.write(c.content(size), 0), "rewrite " + quotedPath(file.path) + " whole, size " +
                                               describeBytes(file.size) + " -> " + describeBytes(size));
}

void punchOrZero(WorkloadContext& c, const FsEntry& file) {
    if (file.size == 0)
        return grow(c, file);
    bool aligned = c.chance(50);
    std::uint64_t offset = c.offsetIn(file.size);
    std::uint64_t length = c.between(1, std::max<std::uint64_t>(1, file.size - offset));
    if (aligned) {
        offset -= offset % kBlock;
        length = std::max(kBlock, length - length % kBlock);
    }
    bool zero = c.chance(25);
    int mode = zero ? FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    OpenFile out(c, file.path);
    c.check(out.fd() >= 0 &&
                ::fallocate(out.fd(), mode, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0,
            std::string(zero ? "zero range " : "punch hole ") + describeRange(offset, length) + " in " +
                quotedPath(file.path) + " of " + describeBytes(file.size));
}

void preallocate(WorkloadContext& c, const FsEntry& file) {
    bool keepSize = c.chance(50); // extents past the end: allocated, not part of the contents
    std::uint64_t offset = c.offsetIn(file.size + kChunk);
    std::uint64_t length = c.between(1, 1 << 20);
    OpenFile out(c, file.path);
    c.check(out.fd() >= 0 && ::fallocate(out.fd(), keepSize ? FALLOC_FL_KEEP_SIZE : 0,
                                         static_cast<off_t>(offset), static_cast<off_t>(length)) == 0,
            std::string("preallocate ") + describeRange(offset, length) + (keepSize ? " keeping size" : "") +
                " in " + quotedPath(file.path) + " of " + describeBytes(file.size));
}

void writeSparse(WorkloadContext& c, const FsEntry& file, std::uint64_t offset) {
    std::size_t length = c.between(1, 64 << 10);
    OpenFile out(c, file.path);
    c.check(out.write(c.content(length), offset), "sparse write " + describeRange(offset, length) + " into " +
                                                      quotedPath(file.path) + " (was " +
                                                      describeBytes(file.size) + ")");
}

FsEntry fileOrNewFile(WorkloadContext& c) {
    if (c.chance(60))
        return c.pickFile();
    std::string path = c.newPath();
    OpenFile created(c, path, O_WRONLY | O_CREAT);
    c.check(created.fd() >= 0, "create empty file " + quotedPath(path));
    c.changed();
    return {path, S_IFREG | 0644, 1, 0, 0};
}

void reflinkWhole(WorkloadContext& c) {
    FsEntry source = c.pickFile();
    FsEntry target = fileOrNewFile(c);
    OpenFile in(c, source.path, O_RDONLY);
    OpenFile out(c, target.path);
    c.check(in.fd() >= 0 && out.fd() >= 0 && ::ioctl(out.fd(), FICLONE, in.fd()) == 0,
            "reflink whole " + quotedPath(source.path) + " (" + describeBytes(source.size) + ") onto " +
                quotedPath(target.path) + " (" + describeBytes(target.size) + ")");
}

void reflinkRange(WorkloadContext& c) {
    FsEntry source = c.pickFile();
    FsEntry target = c.chance(30) ? source : fileOrNewFile(c);
    file_clone_range clone{};
    clone.src_offset = kBlock * c.below(source.size / kBlock + 1);
    std::uint64_t available = source.size > clone.src_offset ? source.size - clone.src_offset : 0;
    // Length 0 clones to the end of the source, unaligned tail included.
    clone.src_length = c.chance(40) || available < kBlock ? 0 : kBlock * c.between(1, available / kBlock);
    std::uint64_t destination = c.offsetIn(target.size + 2 * kBlock);
    clone.dest_offset = destination - destination % kBlock;
    OpenFile in(c, source.path, O_RDONLY);
    OpenFile out(c, target.path);
    clone.src_fd = in.fd();
    c.check(in.fd() >= 0 && out.fd() >= 0 && ::ioctl(out.fd(), FICLONERANGE, &clone) == 0,
            "reflink range " + describeRange(clone.src_offset, clone.src_length) + " of " +
                quotedPath(source.path) + " (" + describeBytes(source.size) + ") to offset " +
                describeBytes(clone.dest_offset) + " of " + quotedPath(target.path) + " (" +
                describeBytes(target.size) + ")");
}

void run(WorkloadContext& c, void (*change)(WorkloadContext&, const FsEntry&)) { change(c, c.pickFile()); }

} // namespace

void changeContentOf(WorkloadContext& c, const FsEntry& file) {
    static void (*const kChanges[])(WorkloadContext&, const FsEntry&) = {
        rewriteKeepingSize, append, shrink, grow, rewriteWithNewSize, punchOrZero};
    kChanges[c.below(std::size(kChanges))](c, file);
}

void writeHugeSparseFile(WorkloadContext& c) {
    FsEntry file = fileOrNewFile(c);
    // Just past 4 GiB: 32-bit offsets overflow there, and each footprint, receive and
    // rsync reads every byte of the holes, so further out costs time for nothing.
    std::uint64_t offset = c.options().hugeSparseOffset + c.below(256ull << 20);
    if (c.chance(50))
        offset -= offset % kBlock;
    writeSparse(c, file, offset);
}

std::vector<WorkloadOperation> contentOperations() {
    return {
        {"rewrite-keeping-size", [](WorkloadContext& c) { run(c, rewriteKeepingSize); }},
        {"append", [](WorkloadContext& c) { run(c, append); }},
        {"truncate-shrink", [](WorkloadContext& c) { run(c, shrink); }},
        {"truncate-grow", [](WorkloadContext& c) { run(c, grow); }},
        {"rewrite-new-size", [](WorkloadContext& c) { run(c, rewriteWithNewSize); }},
        {"punch-or-zero-range", [](WorkloadContext& c) { run(c, punchOrZero); }},
        {"preallocate", [](WorkloadContext& c) { run(c, preallocate); }},
        {"sparse-write",
         [](WorkloadContext& c) {
             std::uint64_t limit = c.options().sparseOffsetLimit;
             std::uint64_t offset = c.chance(50) ? c.nearBoundary(kChunk * c.between(1, limit / kChunk))
                                                 : c.between(kChunk, limit);
             writeSparse(c, fileOrNewFile(c), offset);
         }},
        {"reflink-whole", reflinkWhole},
        {"reflink-range", reflinkRange},
    };
}

} // namespace sctest
