#include "core/footprint/footprint_record_file.h"

#include "core/base/error.h"
#include "core/base/fault_injection.h"

#include <atomic>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace sc {

namespace {

constexpr char kMagic[8] = {'S', 'C', 'F', 'P', 'T', 'R', 'E', 'E'};
constexpr std::uint32_t kStreamedVersion = 3;
constexpr std::size_t kHeaderBytes = sizeof kMagic + 4 + 4 + 4 + 1 + 1;
constexpr std::size_t kChecksumBytes = 32;
constexpr std::uint64_t kNoChunks = UINT64_MAX;
constexpr std::size_t kIoBytes = 1u << 20;
constexpr std::size_t kMaxPathBytes = 1u << 16;

std::uint8_t digestSizeOf(HashAlgorithm algorithm) { return hashBytes(algorithm, "").size; }

void putInt(std::string& out, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::string encodeInt(std::uint64_t value, int bytes) {
    std::string out;
    putInt(out, value, bytes);
    return out;
}

void putDigest(std::string& out, const Digest& digest, std::uint8_t size) {
    Digest padded = digest; // a placeholder (empty) digest is written as zeros
    out.append(reinterpret_cast<const char*>(padded.bytes.data()), size);
}

bool hasChunkReference(const EntryStreamInfo& settings, EntryType type) {
    return settings.format == kFootprintFormatChunked && type == EntryType::File;
}

// SHA-256 of the first `length` bytes of a file.
Digest checksumOf(int fd, std::uint64_t length, const std::string& what) {
    Hasher hasher(HashAlgorithm::Sha256);
    std::vector<char> buffer(kIoBytes);
    for (std::uint64_t at = 0; at < length;) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - at));
        if (preadFull(fd, buffer.data(), want, at, "cannot read " + what) != want)
            throw Error(what + " is truncated");
        hasher.update(std::string_view(buffer.data(), want));
        at += want;
    }
    return hasher.finish();
}

std::string uniqueSuffix() {
    static std::atomic<unsigned> counter{0};
    return ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

} // namespace

RecordFileWriter::RecordFileWriter(std::string path, const EntryStreamInfo& settings)
    : path_(std::move(path)), temporary_(path_ + uniqueSuffix()), settings_(settings),
      digestSize_(digestSizeOf(settings.algorithm)) {
    try {
        file_.reset(::open(temporary_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!file_)
            throwSystemError("cannot create " + temporary_, errno);
        std::string directory = std::filesystem::path(path_).parent_path().string();
        chunkSection_.reset(::open(directory.empty() ? "." : directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
        if (!chunkSection_)
            throwSystemError("cannot create a temporary file in " + directory, errno);
    } catch (const Error& e) {
        fail(e);
    }
    buffer_.append(kMagic, sizeof kMagic);
    putInt(buffer_, kStreamedVersion, 4);
    putInt(buffer_, settings_.format, 4);
    putInt(buffer_, settings_.features, 4);
    putInt(buffer_, static_cast<std::uint64_t>(settings_.algorithm), 1);
    putInt(buffer_, digestSize_, 1);
}

RecordFileWriter::~RecordFileWriter() {
    if (!kept_)
        ::unlink(temporary_.c_str());
}

void RecordFileWriter::fail(const std::exception& e) {
    if (error_.empty())
        error_ = e.what();
    buffer_.clear();
    buffer_.shrink_to_fit();
}

EntrySink::Slot RecordFileWriter::add(const std::string& path, const FootprintEntry& entry) {
    if (finished_)
        throw Error("footprint record " + path_ + " is already finished");
    if (!error_.empty())
        return 0;
    buffer_.push_back(1);
    putInt(buffer_, path.size(), 4);
    buffer_ += path;
    putInt(buffer_, static_cast<std::uint64_t>(entry.type), 1);
    const Slot slot = bufferAt_ + buffer_.size();
    putDigest(buffer_, entry.digest, digestSize_);
    putInt(buffer_, entry.size, 8);
    putInt(buffer_, entry.inode, 8);
    putInt(buffer_, static_cast<std::uint64_t>(entry.ctimeNs), 8);
    putInt(buffer_, static_cast<std::uint64_t>(entry.mtimeNs), 8);
    putInt(buffer_, entry.nlink, 4);
    if (hasChunkReference(settings_, entry.type)) {
        putInt(buffer_, kNoChunks, 8);
        putInt(buffer_, 0, 8);
    }
    ++entries_;
    if (entry.chunks && hasChunkReference(settings_, entry.type))
        complete(slot, entry.digest, entry.chunks);
    if (buffer_.size() >= kIoBytes)
        flush();
    return slot;
}

void RecordFileWriter::complete(Slot slot, const Digest& digest, std::shared_ptr<const ChunkDigests> chunks) {
    if (!error_.empty())
        return;
    try {
        completeOrThrow(slot, digest, chunks);
    } catch (const Error& e) {
        fail(e);
    }
}

void RecordFileWriter::completeOrThrow(Slot slot, const Digest& digest, const std::shared_ptr<const ChunkDigests>& chunks) {
    std::string bytes;
    putDigest(bytes, digest, digestSize_);
    patch(slot, bytes);
    if (!chunks)
        return;
    std::string section;
    for (const auto& [index, leaf] : chunks->leaves) {
        putInt(section, index, 8);
        putDigest(section, leaf, digestSize_);
    }
    writeAll(chunkSection_.get(), section.data(), section.size(), "cannot write " + temporary_);
    patch(slot + digestSize_ + 36, encodeInt(chunkBytes_, 8) + encodeInt(chunks->leaves.size(), 8));
    chunkBytes_ += section.size();
}

void RecordFileWriter::patch(std::uint64_t offset, const std::string& bytes) {
    if (offset >= bufferAt_) {
        std::memcpy(buffer_.data() + (offset - bufferAt_), bytes.data(), bytes.size());
        return;
    }
    if (::pwrite(file_.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset)) !=
        static_cast<ssize_t>(bytes.size()))
        throwSystemError("cannot write " + temporary_, errno);
}

void RecordFileWriter::flush() {
    if (!error_.empty())
        return;
    try {
        faultActive("footprint-record-unwritable") ? throw Error("cannot write " + temporary_ + ": injected fault")
                                                    : writeAll(file_.get(), buffer_.data(), buffer_.size(),
                                                               "cannot write " + temporary_);
    } catch (const Error& e) {
        fail(e);
        return;
    }
    bufferAt_ += buffer_.size();
    buffer_.clear();
}

void RecordFileWriter::finish(const Digest& root) {
    if (error_.empty()) {
        try {
            seal(root);
        } catch (const Error& e) {
            fail(e);
        }
    }
    finished_ = true;
}

void RecordFileWriter::seal(const Digest& root) {
    buffer_.push_back(0);
    flush();
    throwIfFailed();
    const std::uint64_t chunkStart = bufferAt_;
    std::vector<char> copy(kIoBytes);
    for (std::uint64_t at = 0; at < chunkBytes_;) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(copy.size(), chunkBytes_ - at));
        if (preadFull(chunkSection_.get(), copy.data(), want, at, "cannot read back " + temporary_) != want)
            throw Error(temporary_ + ": its chunk section is short");
        writeAll(file_.get(), copy.data(), want, "cannot write " + temporary_);
        at += want;
    }
    bufferAt_ += chunkBytes_;
    chunkSection_.reset();
    putDigest(buffer_, root, digestSize_);
    putInt(buffer_, entries_, 8);
    putInt(buffer_, chunkStart, 8);
    flush();
    throwIfFailed();
    Digest checksum = checksumOf(file_.get(), bufferAt_, temporary_);
    writeAll(file_.get(), checksum.bytes.data(), checksum.size, "cannot write " + temporary_);
    if (::fsync(file_.get()) != 0 || !file_.close())
        throwSystemError("cannot write " + temporary_, errno);
}

void RecordFileWriter::throwIfFailed() const {
    if (!error_.empty())
        throw Error(error_);
}

void RecordFileWriter::keep() {
    if (!finished_)
        throw Error("footprint record " + path_ + " is not finished");
    throwIfFailed();
    if (::rename(temporary_.c_str(), path_.c_str()) != 0)
        throwSystemError("cannot keep " + path_, errno);
    kept_ = true;
}

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

std::uint64_t integerAt(const std::string& bytes, std::size_t at, int size) {
    std::uint64_t v = 0;
    for (int i = 0; i < size; ++i)
        v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[at + static_cast<std::size_t>(i)])) << (8 * i);
    return v;
}

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
