#include "core/base/file_io.h"

#include "core/base/error.h"
#include "core/base/hash.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sc {

void FileDescriptor::reset(int fd) noexcept {
    if (fd_ >= 0 && fd_ != fd)
        ::close(fd_);
    fd_ = fd;
}

bool FileDescriptor::close() noexcept {
    if (fd_ < 0)
        return true;
    // Not retried on EINTR: on Linux the descriptor is already released, and a retry
    // could close one another thread has just opened.
    bool closed = ::close(fd_) == 0;
    fd_ = -1;
    return closed;
}

Pipe openPipe(int flags, const std::string& what) {
    int fds[2];
    if (::pipe2(fds, flags) != 0)
        throwSystemError(what, errno);
    return {FileDescriptor(fds[0]), FileDescriptor(fds[1])};
}

std::size_t readSome(int fd, void* buffer, std::size_t size, std::string_view failure) {
    while (true) {
        ssize_t n = ::read(fd, buffer, size);
        if (n >= 0)
            return static_cast<std::size_t>(n);
        if (int err = errno; err != EINTR)
            throwSystemError(std::string(failure), err);
    }
}

std::size_t readFull(int fd, void* buffer, std::size_t size, std::string_view failure) {
    auto* bytes = static_cast<char*>(buffer);
    std::size_t done = 0;
    while (done < size) {
        std::size_t n = readSome(fd, bytes + done, size - done, failure);
        if (n == 0)
            break;
        done += n;
    }
    return done;
}

std::size_t preadFull(int fd, void* buffer, std::size_t size, std::uint64_t offset, std::string_view failure) {
    auto* bytes = static_cast<char*>(buffer);
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd, bytes + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throwSystemError(std::string(failure), errno);
        if (n == 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    return done;
}

int tryWriteAll(int fd, const void* buffer, std::size_t size) noexcept {
    const auto* bytes = static_cast<const char*>(buffer);
    for (std::size_t done = 0; done < size;) {
        ssize_t n = ::write(fd, bytes + done, size - done);
        if (n >= 0)
            done += static_cast<std::size_t>(n);
        else if (errno != EINTR)
            return errno;
    }
    return 0;
}

void writeAll(int fd, const void* buffer, std::size_t size, std::string_view failure) {
    if (int err = tryWriteAll(fd, buffer, size))
        throwSystemError(std::string(failure), err);
}

void writeFileAtomically(const std::string& path, const std::string& contents, unsigned mode) {
    std::string temp = path + ".tmp-" + randomHex(4);
    FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd)
        throwSystemError("cannot create " + temp, errno);
    try {
        writeAll(fd.get(), contents.data(), contents.size(), "cannot write " + path);
    } catch (...) {
        fd.reset();
        ::unlink(temp.c_str());
        throw;
    }
    if (fsync(fd.get()) != 0 || !fd.close()) {
        int err = errno;
        ::unlink(temp.c_str());
        throwSystemError("cannot write " + path, err);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        throwSystemError("cannot replace " + path, err);
    }
}

std::string readSmallFile(const std::string& path, std::size_t limit) {
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throwSystemError("cannot open " + path, errno);
    return readAllFrom(fd.get(), path, limit);
}

std::string readAllFrom(int fd, const std::string& what, std::size_t limit) {
    std::string out;
    char buffer[16384];
    while (std::size_t n = readSome(fd, buffer, sizeof buffer, "cannot read " + what)) {
        out.append(buffer, n);
        if (out.size() > limit)
            throw Error(what + " is unexpectedly large");
    }
    return out;
}

} // namespace sc
