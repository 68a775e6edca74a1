#include "core/footprint/footprint_record_file.h"

#include "core/base/error.h"
#include "core/footprint/record_file_layout.h"

#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sc {

using namespace record_layout;

namespace {

// Reads a window of a file front to back through a buffer.
class WindowReader {
public:
    WindowReader(int fd, std::uint64_t from, std::uint64_t to, const std::string& what)
        : fd_(fd), at_(from), end_(to), what_(what) {}
    void read(void* out, std::size_t n) {
        auto* to = static_cast<char*>(out);
        while (n > 0) {
            if (used_ == buffer_.size()) {
                std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kIoBytes, end_ - at_));
                if (want == 0)
                    throw Error(what_ + " is malformed (an entry runs past the entries)");
                buffer_.resize(want);
                if (preadFull(fd_, buffer_.data(), want, at_, "cannot read " + what_) != want)
                    throw Error(what_ + " is truncated");
                at_ += want;
                used_ = 0;
            }
            std::size_t take = std::min(n, buffer_.size() - used_);
            std::memcpy(to, buffer_.data() + used_, take);
            used_ += take;
            to += take;
            n -= take;
        }
    }
    std::uint64_t integer(int bytes) {
        std::uint8_t raw[8];
        read(raw, static_cast<std::size_t>(bytes));
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i)
            v |= static_cast<std::uint64_t>(raw[i]) << (8 * i);
        return v;
    }
    std::uint64_t position() const { return at_ - (buffer_.size() - used_); }

private:
    int fd_;
    std::uint64_t at_, end_;
    const std::string& what_;
    std::string buffer_;
    std::size_t used_ = 0;
};

class StreamedRecordSource : public EntrySource {
public:
    StreamedRecordSource(FileDescriptor fd, std::string what, EntryStreamInfo info, std::uint8_t digestSize,
                         std::uint64_t entries, std::uint64_t chunkStart, std::uint64_t chunkEnd)
        : fd_(std::move(fd)), what_(std::move(what)), info_(std::move(info)), digestSize_(digestSize),
          entries_(entries), chunkStart_(chunkStart), chunkEnd_(chunkEnd),
          reader_(fd_.get(), kHeaderBytes, chunkStart, what_) {}

    const EntryStreamInfo& info() const override { return info_; }

    bool next(std::string& path, FootprintEntry& entry) override {
        if (done_)
            return false;
        if (reader_.integer(1) == 0) {
            if (read_ != entries_ || reader_.position() != chunkStart_)
                malformed("entry count");
            done_ = true;
            return false;
        }
        if (++read_ > entries_)
            malformed("entry count");
        std::uint64_t length = reader_.integer(4);
        if (length > kMaxPathBytes)
            malformed("path length");
        path.resize(static_cast<std::size_t>(length));
        reader_.read(path.data(), path.size());
        if (read_ > 1 && !walkOrderLess(last_, path))
            malformed("entries out of order");
        last_ = path;
        entry = FootprintEntry{};
        auto type = reader_.integer(1);
        if (type > static_cast<std::uint64_t>(EntryType::Socket))
            malformed("entry type");
        entry.type = static_cast<EntryType>(type);
        entry.digest.size = digestSize_;
        reader_.read(entry.digest.bytes.data(), digestSize_);
        entry.size = reader_.integer(8);
        entry.inode = reader_.integer(8);
        entry.ctimeNs = static_cast<std::int64_t>(reader_.integer(8));
        entry.mtimeNs = static_cast<std::int64_t>(reader_.integer(8));
        entry.nlink = static_cast<std::uint32_t>(reader_.integer(4));
        if (info_.format == kFootprintFormatChunked && entry.type == EntryType::File) {
            std::uint64_t offset = reader_.integer(8);
            std::uint64_t count = reader_.integer(8);
            if (offset != kNoChunks)
                entry.chunks = readChunks(offset, count, entry.size);
        }
        return true;
    }

private:
    [[noreturn]] void malformed(const std::string& what) const { throw Error(what_ + " is malformed (" + what + ")"); }

    std::shared_ptr<const ChunkDigests> readChunks(std::uint64_t offset, std::uint64_t count, std::uint64_t size) {
        const std::uint64_t each = 8u + digestSize_;
        const std::uint64_t limit = chunkCount(size);
        const std::uint64_t sectionBytes = chunkEnd_ - chunkStart_;
        if (count > limit || offset > sectionBytes || count > (sectionBytes - offset) / each)
            malformed("chunk digests");
        std::string bytes(static_cast<std::size_t>(count * each), '\0');
        if (preadFull(fd_.get(), bytes.data(), bytes.size(), chunkStart_ + offset, "cannot read " + what_) !=
            bytes.size())
            malformed("chunk digests");
        auto chunks = std::make_shared<ChunkDigests>();
        chunks->size = size;
        for (std::size_t at = 0; at < bytes.size(); at += static_cast<std::size_t>(each)) {
            std::uint64_t index = integerAt(bytes, at, 8);
            if (index >= limit || (!chunks->leaves.empty() && index <= chunks->leaves.rbegin()->first))
                malformed("chunk digests");
            Digest leaf;
            leaf.size = digestSize_;
            std::memcpy(leaf.bytes.data(), bytes.data() + at + 8, digestSize_);
            chunks->leaves.emplace_hint(chunks->leaves.end(), index, leaf);
        }
        return chunks;
    }

    FileDescriptor fd_;
    std::string what_;
    EntryStreamInfo info_;
    std::uint8_t digestSize_;
    std::uint64_t entries_, chunkStart_, chunkEnd_;
    WindowReader reader_;
    std::uint64_t read_ = 0;
    std::string last_;
    bool done_ = false;
};

// A version 1 or 2 record: a whole tree, read whole and handed out in walk order.
class WholeRecordSource : public EntrySource {
public:
    explicit WholeRecordSource(FootprintTree tree) : tree_(std::move(tree)), source_(tree_) {}
    const EntryStreamInfo& info() const override { return source_.info(); }
    bool next(std::string& path, FootprintEntry& entry) override { return source_.next(path, entry); }

private:
    FootprintTree tree_;
    TreeSource source_;
};

} // namespace

std::unique_ptr<EntrySource> openRecordFile(const std::string& path) {
    const std::string what = "footprint record " + path;
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throwSystemError("cannot open " + what, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        throwSystemError("cannot stat " + what, errno);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    std::string header(kHeaderBytes, '\0');
    if (size < kHeaderBytes + kChecksumBytes ||
        preadFull(fd.get(), header.data(), header.size(), 0, "cannot read " + what) != header.size() ||
        std::memcmp(header.data(), kMagic, sizeof kMagic) != 0)
        throw Error(what + " is not a footprint record");
    const auto version = static_cast<std::uint32_t>(integerAt(header, 8, 4));
    if (version < kStreamedVersion)
        return std::make_unique<WholeRecordSource>(FootprintTree::load(path));
    if (version != kStreamedVersion)
        throw Error(what + " has an unsupported version");

    std::string checksum(kChecksumBytes, '\0');
    preadFull(fd.get(), checksum.data(), checksum.size(), size - kChecksumBytes, "cannot read " + what);
    Digest actual = checksumOf(fd.get(), size - kChecksumBytes, what);
    if (std::memcmp(actual.bytes.data(), checksum.data(), kChecksumBytes) != 0)
        throw Error(what + " is corrupted (checksum mismatch)");

    EntryStreamInfo info;
    info.format = static_cast<std::uint32_t>(integerAt(header, 12, 4));
    info.features = static_cast<std::uint32_t>(integerAt(header, 16, 4));
    const auto algorithm = integerAt(header, 20, 1);
    const auto digestSize = static_cast<std::uint8_t>(integerAt(header, 21, 1));
    if (!knownFootprintFormat(info.format) || algorithm > static_cast<std::uint64_t>(HashAlgorithm::Blake2b512))
        throw Error(what + " has an unsupported version");
    info.algorithm = static_cast<HashAlgorithm>(algorithm);
    if (digestSize != digestSizeOf(info.algorithm))
        throw Error(what + " is malformed (digest size)");

    const std::uint64_t trailerBytes = digestSize + 16u + kChecksumBytes;
    if (size < kHeaderBytes + 1 + trailerBytes)
        throw Error(what + " is truncated");
    const std::uint64_t trailerAt = size - trailerBytes;
    std::string trailer(static_cast<std::size_t>(trailerBytes - kChecksumBytes), '\0');
    preadFull(fd.get(), trailer.data(), trailer.size(), trailerAt, "cannot read " + what);
    info.root.size = digestSize;
    std::memcpy(info.root.bytes.data(), trailer.data(), digestSize);
    const std::uint64_t entries = integerAt(trailer, digestSize, 8);
    const std::uint64_t chunkStart = integerAt(trailer, digestSize + 8u, 8);
    if (chunkStart <= kHeaderBytes || chunkStart > trailerAt)
        throw Error(what + " is malformed (chunk section)");
    return std::make_unique<StreamedRecordSource>(std::move(fd), what, std::move(info), digestSize, entries, chunkStart,
                                                  trailerAt);
}

} // namespace sc
