#pragma once
// Files and descriptors: one owner of a descriptor, reads and writes that survive EINTR
// and short transfers, and whole small files written atomically (a crash leaves the old
// or the new contents, never a mix) and read with a size limit, so a hostile or damaged
// file cannot make us allocate without bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sc {

// Owns one file descriptor and closes it once, when it goes or is reset.
class FileDescriptor {
public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
    ~FileDescriptor() { reset(); }
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
    FileDescriptor& operator=(FileDescriptor&& other) noexcept {
        if (this != &other)
            reset(other.release());
        return *this;
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    // Gives up ownership: the caller closes the returned descriptor.
    [[nodiscard]] int release() noexcept {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    // Closes the owned descriptor, ignoring errors, and owns `fd` instead.
    void reset(int fd = -1) noexcept;
    // For a caller that cares what close says (a file just written: NFS, quota): false
    // with errno set on an error. The descriptor is gone either way (Linux close semantics).
    [[nodiscard]] bool close() noexcept;

private:
    int fd_ = -1;
};

// The two ends of a pipe2(flags); throws sc::Error "<what>: <strerror>".
struct Pipe {
    FileDescriptor read, write;
};
Pipe openPipe(int flags, const std::string& what);

// One read(2), retried on EINTR: what is there now, 0 at EOF. For a peer that may
// say less than asked and then wait. Throws sc::Error "<failure>: <strerror>".
std::size_t readSome(int fd, void* buffer, std::size_t size, std::string_view failure);
// Reads until `size` bytes are in or the input ends: fewer than `size` only at EOF.
std::size_t readFull(int fd, void* buffer, std::size_t size, std::string_view failure);
// The same at a file offset (pread), leaving the descriptor's own position alone.
std::size_t preadFull(int fd, void* buffer, std::size_t size, std::uint64_t offset, std::string_view failure);
// Writes all `size` bytes, through EINTR and short writes. Blocking descriptors only:
// EAGAIN is an error here.
void writeAll(int fd, const void* buffer, std::size_t size, std::string_view failure);
// The same for a caller that keeps the error for later: 0, or the errno that stopped it.
[[nodiscard]] int tryWriteAll(int fd, const void* buffer, std::size_t size) noexcept;

// Write a small file atomically (temp file in the same directory, fsync, rename).
void writeFileAtomically(const std::string& path, const std::string& contents, unsigned mode = 0644);
std::string readSmallFile(const std::string& path, std::size_t limit = 16u << 20);
// Everything left to read from fd; throws sc::Error naming `what` past `limit` bytes.
std::string readAllFrom(int fd, const std::string& what, std::size_t limit);

} // namespace sc
