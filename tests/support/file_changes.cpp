#include "tests/support/file_changes.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sctest {

namespace {

constexpr std::uint64_t kBlock = 4096;
constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kMaxRandomSize = 16 * kMiB;

void check(bool ok, const std::string& what) {
    if (!ok)
        throw std::runtime_error(what + ": " + std::strerror(errno));
}

class OpenFile {
  public:
    explicit OpenFile(const std::string& path, int flags = O_RDWR)
        : path_(path), fd_(::open(path.c_str(), flags)) {
        check(fd_ >= 0, "cannot open " + path);
    }
    ~OpenFile() { ::close(fd_); }
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;
    int fd() const { return fd_; }
    std::uint64_t size() const {
        struct stat st {};
        check(::fstat(fd_, &st) == 0, "cannot stat " + path_);
        return static_cast<std::uint64_t>(st.st_size);
    }
    void write(std::uint64_t offset, const std::string& bytes) const {
        check(::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
                  static_cast<ssize_t>(bytes.size()),
              "cannot write " + path_);
    }
    void truncate(std::uint64_t size) const {
        check(::ftruncate(fd_, static_cast<off_t>(size)) == 0, "cannot truncate " + path_);
    }
    void allocate(int mode, std::uint64_t offset, std::uint64_t length) const {
        check(::fallocate(fd_, mode, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0,
              "cannot fallocate " + path_);
    }
    void cloneFrom(const OpenFile& source, std::uint64_t sourceOffset, std::uint64_t length,
                   std::uint64_t offset) const {
        file_clone_range range{};
        range.src_fd = source.fd();
        range.src_offset = sourceOffset;
        range.src_length = length;
        range.dest_offset = offset;
        check(::ioctl(fd_, FICLONERANGE, &range) == 0, "cannot clone a range into " + path_);
    }

  private:
    std::string path_;
    int fd_;
};

std::string randomBytes(std::uint64_t length, std::mt19937_64& rng) {
    std::string bytes(length, '\0');
    for (auto& byte : bytes)
        byte = static_cast<char>(rng());
    return bytes;
}

std::uint64_t uniform(std::mt19937_64& rng, std::uint64_t low, std::uint64_t high) { // inclusive
    return std::uniform_int_distribution<std::uint64_t>(low, high)(rng);
}

std::string span(std::uint64_t offset, std::uint64_t length) {
    return std::to_string(offset) + "+" + std::to_string(length);
}

void cloneRange(const std::string& dir, const std::string& file, std::uint64_t sourceOffset,
                std::uint64_t length, std::uint64_t offset) {
    OpenFile(dir + "/" + file)
        .cloneFrom(OpenFile(dir + "/" + kCloneSource, O_RDONLY), sourceOffset, length, offset);
}

OpenFile at(const std::string& dir, const std::string& file) {
    return OpenFile(dir + "/" + file);
}

std::vector<sc::ByteRange> sortedUnion(std::vector<sc::ByteRange> ranges) {
    std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
    std::vector<sc::ByteRange> merged;
    for (const auto& range : ranges) {
        if (!merged.empty() && range.offset <= merged.back().end())
            merged.back().length = std::max(merged.back().end(), range.end()) - merged.back().offset;
        else
            merged.push_back(range);
    }
    return merged;
}

bool inside(const std::vector<sc::ByteRange>& merged, std::uint64_t begin, std::uint64_t end) {
    return std::any_of(merged.begin(), merged.end(), [&](const sc::ByteRange& range) {
        return range.offset <= begin && end <= range.end();
    });
}

} // namespace

void writeKeepingMtime(const std::string& path, std::uint64_t offset, const std::string& bytes) {
    struct stat st {};
    check(::stat(path.c_str(), &st) == 0, "cannot stat " + path);
    OpenFile(path).write(offset, bytes);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    check(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0, "cannot set the times of " + path);
}

void makeFile(const std::string& path, std::uint64_t size, bool sparse, std::mt19937_64& rng) {
    OpenFile file(path, O_RDWR | O_CREAT | O_EXCL);
    for (std::uint64_t at = 0; at < size; at += kMiB)
        if (!sparse || (at / kMiB) % 4 != 1)
            file.write(at, randomBytes(std::min(kMiB, size - at), rng));
    file.truncate(size);
}

std::vector<FileChange> fileChangeKinds() {
    using Rng = std::mt19937_64;
    return {
        {"write-4k-same-mtime", false, true,
         [](const std::string& dir, const std::string& file, Rng& rng) {
             writeKeepingMtime(dir + "/" + file, 4 * kMiB + 1000, randomBytes(kBlock, rng));
         }},
        {"write-4k-in-hole", true, true,
         [](const std::string& dir, const std::string& file, Rng& rng) {
             at(dir, file).write(5 * kMiB + 8192, randomBytes(kBlock, rng));
         }},
        {"append-16k", true, true,
         [](const std::string& dir, const std::string& file, Rng& rng) {
             OpenFile f = at(dir, file);
             f.write(f.size(), randomBytes(16 * 1024, rng));
         }},
        {"truncate-shrink", false, true,
         [](const std::string& dir, const std::string& file, Rng&) {
             at(dir, file).truncate(5 * kMiB + 777);
         }},
        {"truncate-grow", true, true,
         [](const std::string& dir, const std::string& file, Rng&) {
             at(dir, file).truncate(11 * kMiB + 333);
         }},
        {"shrink-then-regrow", false, false,
         [](const std::string& dir, const std::string& file, Rng&) {
             OpenFile f = at(dir, file);
             f.truncate(2 * kMiB);
             f.truncate(8 * kMiB);
         }},
        {"punch-hole", false, true,
         [](const std::string& dir, const std::string& file, Rng&) {
             at(dir, file).allocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * kMiB, 300 * 1024);
         }},
        // The kernel re-sends the rest of the extent this splits as a CLONE of the same
        // file at the same offset (unchanged bytes): small only if those add no range.
        {"zero-range", true, true,
         [](const std::string& dir, const std::string& file, Rng&) {
             at(dir, file).allocate(FALLOC_FL_ZERO_RANGE, 2 * kMiB + kBlock, 200 * 1024);
         }},
        {"preallocate-past-eof", true, true,
         [](const std::string& dir, const std::string& file, Rng&) {
             at(dir, file).allocate(FALLOC_FL_KEEP_SIZE, 8 * kMiB, kMiB);
         }},
        {"clone-range", true, true, // the split extent's rest comes as for zero-range
         [](const std::string& dir, const std::string& file, Rng&) {
             cloneRange(dir, file, kMiB, 256 * 1024, 3 * kMiB);
         }},
        {"rewrite-same-size", false, false,
         [](const std::string& dir, const std::string& file, Rng& rng) {
             OpenFile f = at(dir, file);
             f.write(0, randomBytes(f.size(), rng));
         }},
    };
}

std::string applyRandomChange(const std::string& dir, const std::string& file, std::mt19937_64& rng) {
    const std::string path = dir + "/" + file;
    OpenFile f(path);
    const std::uint64_t size = f.size();
    const std::uint64_t kind = uniform(rng, 0, 39);
    if (kind < 10) {
        std::uint64_t offset = uniform(rng, 0, std::min(size, kMaxRandomSize - 65536));
        std::string bytes = randomBytes(uniform(rng, 1, 65536), rng);
        if (kind % 2)
            writeKeepingMtime(path, offset, bytes);
        else
            f.write(offset, bytes);
        return "write " + span(offset, bytes.size());
    }
    if (kind < 14 && size + 65536 <= kMaxRandomSize) {
        std::uint64_t length = uniform(rng, 1, 65536);
        f.write(size, randomBytes(length, rng));
        return "append " + std::to_string(length);
    }
    if (kind < 18 && size > 0) {
        std::uint64_t to = uniform(rng, size / 2, size - 1);
        f.truncate(to);
        return "shrink to " + std::to_string(to);
    }
    if (kind < 22 && size + 2 * kMiB <= kMaxRandomSize) {
        std::uint64_t to = size + uniform(rng, 1, 2 * kMiB);
        f.truncate(to);
        return "grow to " + std::to_string(to);
    }
    if (kind < 32 && size > 0) {
        std::uint64_t offset = uniform(rng, 0, size - 1), length = uniform(rng, 1, kMiB);
        bool punch = kind < 27;
        f.allocate(punch ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                         : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                   offset, length);
        return (punch ? "punch " : "zero ") + span(offset, length);
    }
    if (kind < 35) {
        std::uint64_t offset = size + uniform(rng, 0, 65536), length = uniform(rng, kBlock, kMiB);
        f.allocate(FALLOC_FL_KEEP_SIZE, offset, length);
        return "preallocate " + span(offset, length);
    }
    if (kind < 39) {
        std::uint64_t length = uniform(rng, 1, 256) * kBlock;
        std::uint64_t sourceOffset = uniform(rng, 0, (8 * kMiB - length) / kBlock) * kBlock;
        std::uint64_t offset = uniform(rng, 0, std::min(size, kMaxRandomSize - length) / kBlock) * kBlock;
        cloneRange(dir, file, sourceOffset, length, offset);
        return "clone " + span(offset, length) + " from " + std::to_string(sourceOffset);
    }
    f.write(0, randomBytes(size, rng));
    return "rewrite " + std::to_string(size);
}

std::string RangeCoverage::summary() const {
    std::string text = std::to_string(differingBlocks) + " differing blocks (" +
                       std::to_string(sizeChangeBlocks) + " gone or holding the smaller end), " +
                       std::to_string(rangeCount) + " ranges of " + std::to_string(rangeBytes) + " bytes";
    if (!missed.empty()) {
        text += ", " + std::to_string(missed.size()) + " missed, from offset";
        for (std::size_t i = 0; i < missed.size() && i < 8; ++i)
            text += " " + std::to_string(missed[i]);
    }
    return text;
}

RangeCoverage checkCoverage(const std::string& before, const std::string& after,
                            const std::vector<sc::ByteRange>* ranges) {
    RangeCoverage coverage;
    std::vector<sc::ByteRange> merged;
    if (ranges) {
        coverage.rangeCount = ranges->size();
        for (const auto& range : *ranges)
            coverage.rangeBytes += std::min(range.length, UINT64_MAX - coverage.rangeBytes);
        merged = sortedUnion(*ranges);
    }
    std::string expected = before; // as the footprint sees it: a grown file's new bytes are zeros
    expected.resize(after.size(), '\0');
    const std::uint64_t smaller = std::min(before.size(), after.size());
    const std::uint64_t larger = std::max(before.size(), after.size());
    for (std::uint64_t block = 0; block < larger; block += kBlock) {
        std::uint64_t end = std::min(block + kBlock, after.size());
        if (block < after.size() &&
            std::memcmp(expected.data() + block, after.data() + block, end - block) == 0)
            continue;
        ++coverage.differingBlocks;
        if (block >= after.size() ||
            (block < smaller && smaller < block + kBlock && before.size() != after.size())) {
            ++coverage.sizeChangeBlocks; // gone, or holding the smaller end: the size change covers it
            if (!ranges)
                coverage.missed.push_back(block);
        } else if (!inside(merged, block, end)) {
            coverage.missed.push_back(block);
        }
    }
    return coverage;
}

} // namespace sctest
