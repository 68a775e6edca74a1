#include "core/footprint/footprint_record_file.h"

#include "core/base/error.h"
#include "core/base/fault_injection.h"
#include "core/footprint/record_file_layout.h"

#include <atomic>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

namespace sc {

using namespace record_layout;

namespace record_layout {

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

} // namespace record_layout

namespace {

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
}

void RecordFileWriter::throwIfFailed() const {
    if (!error_.empty())
        throw Error(error_);
}

void RecordFileWriter::keep() {
    if (!finished_)
        throw Error("footprint record " + path_ + " is not finished");
    throwIfFailed();
    // Synced only here: a record that becomes a delta and goes is never worth an fsync.
    if (::fsync(file_.get()) != 0 || !file_.close())
        throwSystemError("cannot write " + temporary_, errno);
    if (::rename(temporary_.c_str(), path_.c_str()) != 0)
        throwSystemError("cannot keep " + path_, errno);
    kept_ = true;
}

} // namespace sc
