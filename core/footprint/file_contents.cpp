#include "core/footprint/file_contents.h"

#include "core/base/error.h"
#include "core/base/fault_injection.h"
#include "core/base/file_io.h"
#include "core/footprint/footprint_tree.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <functional>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <thread>
#include <unistd.h>

namespace sc {

std::vector<std::pair<std::string, std::string>> readXattrs(const std::string& path) {
    std::vector<std::pair<std::string, std::string>> result;
    ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
    if (size < 0)
        throwSystemError("cannot list xattrs of " + displayPath(path), errno);
    if (size == 0)
        return result;
    std::string names(static_cast<std::size_t>(size), '\0');
    size = ::llistxattr(path.c_str(), names.data(), names.size());
    if (size < 0)
        throwSystemError("cannot list xattrs of " + displayPath(path), errno);
    names.resize(static_cast<std::size_t>(size));
    for (std::size_t at = 0; at < names.size();) {
        std::string name(names.c_str() + at);
        at += name.size() + 1;
        ssize_t length = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
        if (length < 0)
            throwSystemError("cannot read xattr " + name + " of " + displayPath(path), errno);
        std::string value(static_cast<std::size_t>(length), '\0');
        length = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
        if (length < 0)
            throwSystemError("cannot read xattr " + name + " of " + displayPath(path), errno);
        value.resize(static_cast<std::size_t>(length));
        result.emplace_back(std::move(name), std::move(value));
    }
    std::sort(result.begin(), result.end());
    return result;
}

void throwIfFootprintCancelled(const std::atomic<bool>* cancelled) {
    if (cancelled && cancelled->load())
        throw Error("footprint cancelled");
}

namespace {

FileDescriptor openForHashing(const std::string& path) {
    // O_NONBLOCK and the type check: what was a regular file when walked must still be one.
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOATIME));
    if (!fd && errno == EPERM)
        fd.reset(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd)
        throwSystemError("cannot open " + displayPath(path), errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        throw Error(displayPath(path) + " is no longer a regular file");
    return fd;
}

// Run before each read: stops a cancelled footprint, and slows hashing down for tests that need it long.
std::function<void()> beforeEachRead(const std::atomic<bool>* cancelled) {
    const bool slowly = faultActive("footprint-slowly");
    return [slowly, cancelled] {
        if (slowly)
            std::this_thread::sleep_for(std::chrono::seconds(2));
        throwIfFootprintCancelled(cancelled);
    };
}

} // namespace

Digest hashWholeFile(const std::string& path, HashAlgorithm algorithm, std::vector<char>& buffer,
                     const std::atomic<bool>* cancelled) {
    FileDescriptor fd = openForHashing(path);
    Hasher hasher(algorithm);
    const std::function<void()> beforeRead = beforeEachRead(cancelled);
    const std::string failure = "cannot read " + displayPath(path);
    while (true) {
        beforeRead();
        std::size_t n = readSome(fd.get(), buffer.data(), buffer.size(), failure);
        if (n == 0)
            break;
        hasher.update(std::string_view(buffer.data(), n));
    }
    return hasher.finish();
}

ChunkDigests hashFileChunksAt(const std::string& path, HashAlgorithm algorithm, const ChunkDigests* base,
                              const std::vector<ByteRange>& written, std::vector<char>& buffer,
                              const std::atomic<bool>* cancelled, std::uint64_t& bytesRead) {
    FileDescriptor fd = openForHashing(path);
    ChunkReading reading;
    reading.beforeChunk = beforeEachRead(cancelled);
    ChunkDigests chunks = base ? rehashFileChunks(fd.get(), algorithm, *base, written, buffer, kFootprintChunkSize, &reading)
                               : hashFileChunks(fd.get(), algorithm, buffer, kFootprintChunkSize, &reading);
    bytesRead += reading.bytesRead;
    return chunks;
}

} // namespace sc
