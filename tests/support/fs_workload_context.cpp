#include "tests/support/fs_workload_context.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

namespace sctest {

WorkloadContext::WorkloadContext(std::string root, std::uint64_t seed, FsWorkloadOptions options)
    : root_(std::move(root)), options_(options), random_(seed), names_(random_) {}

std::string WorkloadContext::absolute(const std::string& relative) const {
    return relative.empty() ? root_ : root_ + "/" + relative;
}

// Plain modulo rather than std::uniform_int_distribution: its algorithm is the
// library's to choose, and a seed must replay the same run with any library.
std::uint64_t WorkloadContext::below(std::uint64_t bound) { return bound ? random_() % bound : 0; }

std::uint64_t WorkloadContext::between(std::uint64_t low, std::uint64_t high) {
    return low + below(high - low + 1);
}

bool WorkloadContext::chance(unsigned percent) { return below(100) < percent; }

std::string WorkloadContext::content(std::size_t bytes) {
    std::string data(bytes, '\0');
    switch (below(4)) {
    case 0:
        break; // zeros
    case 1: {
        std::string line = "line " + std::to_string(below(1000000)) + " of a compressible log\n";
        for (std::size_t at = 0; at < bytes; ++at)
            data[at] = line[at % line.size()];
        break;
    }
    default:
        for (std::size_t at = 0; at < bytes; at += 8) {
            std::uint64_t word = random_();
            std::memcpy(data.data() + at, &word, std::min<std::size_t>(8, bytes - at));
        }
    }
    return data;
}

std::size_t WorkloadContext::fileSize() {
    std::uint64_t roll = below(100);
    if (roll < 35)
        return below(4097);
    if (roll < 65)
        return between(4097, 64 << 10);
    if (roll < 93)
        return between((64 << 10) + 1, 1 << 20);
    return multiChunkSize();
}

std::size_t WorkloadContext::multiChunkSize() {
    std::uint64_t chunks = between(1, 6);
    if (chance(60))
        return static_cast<std::size_t>(nearBoundary(chunks * kChunk));
    return static_cast<std::size_t>(chunks * kChunk + between(2, kChunk - 2)); // e.g. 2.5 MiB
}

std::uint64_t WorkloadContext::nearBoundary(std::uint64_t boundary) { return boundary - 1 + below(3); }

std::uint64_t WorkloadContext::offsetIn(std::uint64_t size) {
    if (size <= kChunk || chance(40))
        return below(size);
    std::uint64_t lastChunk = (size - 1) / kChunk;
    if (chance(25))
        return between(lastChunk * kChunk, size - 1);
    return std::min(size - 1, nearBoundary(kChunk * between(1, lastChunk)));
}

const std::vector<FsEntry>& WorkloadContext::tree() {
    if (treeStale_) {
        tree_ = listTree(root_);
        treeStale_ = false;
    }
    return tree_;
}

std::optional<FsEntry> WorkloadContext::pick(const std::function<bool(const FsEntry&)>& wanted) {
    std::vector<const FsEntry*> candidates;
    for (const auto& entry : tree())
        if (wanted(entry))
            candidates.push_back(&entry);
    if (candidates.empty())
        return std::nullopt;
    return *candidates[below(candidates.size())];
}

FsEntry WorkloadContext::pickFile() {
    if (auto file = pick([](const FsEntry& e) { return e.isFile(); }))
        return *file;
    std::string path = newPath();
    writeFile(path, fileSize(), 0644);
    changed();
    return *pick([&](const FsEntry& e) { return e.path == path; });
}

std::string WorkloadContext::pickDirectory() {
    return pick([](const FsEntry& e) { return e.isDirectory(); })->path; // the root always qualifies
}

std::string WorkloadContext::newPathIn(const std::string& dir) {
    std::string parent = dir;
    if (parent.size() + 17 > options_.maxPathBytes)
        parent.clear();
    std::size_t room = options_.maxPathBytes - parent.size() - 1;
    // The chain's reserved name, below the root where it is an ordinary name (at the
    // root, commit puts the block header there and footprints skip it).
    if (!parent.empty() && chance(3)) {
        struct stat st {};
        std::string reserved = joinPath(parent, ".streamchain");
        if (::lstat(absolute(reserved).c_str(), &st) != 0)
            return reserved;
    }
    while (true) {
        std::string path = joinPath(parent, names_.next(std::min<std::size_t>(255, room)));
        struct stat st {};
        if (::lstat(absolute(path).c_str(), &st) != 0)
            return path;
    }
}

std::string WorkloadContext::newPath() { return newPathIn(pickDirectory()); }

// A bushy top level leaves most subtrees untouched in a round, and an untouched
// subtree is where an incremental footprint reuses digests: where a stale one hides.
std::string WorkloadContext::newDirectoryPath() { return newPathIn(chance(35) ? std::string() : pickDirectory()); }

std::size_t WorkloadContext::longestPathWithin(const std::string& dir) {
    std::size_t longest = dir.size();
    for (const auto& entry : tree())
        if (isWithin(entry.path, dir))
            longest = std::max(longest, entry.path.size());
    return longest;
}

bool WorkloadContext::writeFile(const std::string& relative, std::size_t size, mode_t mode) {
    int fd = ::open(absolute(relative).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    bool written = fd >= 0;
    if (written) {
        std::string data = content(size);
        written = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
        ::close(fd);
    }
    return check(written, "write file " + quotedPath(relative) + " size " + describeBytes(size) + " mode " +
                              octal(mode));
}

std::string WorkloadContext::symlinkTarget() {
    switch (below(5)) {
    case 0:
        if (auto entry = pick([](const FsEntry& e) { return !e.path.empty(); }))
            return entry->path;
        return "nowhere";
    case 1: return absolute(names_.next(64));
    case 2: return "../" + names_.next(200);
    case 3: return std::string(between(300, 900), 'x') + "/end";
    default: return "/nonexistent/with space/" + names_.next(64);
    }
}

bool WorkloadContext::makeSocket(const std::string& relative, mode_t mode) {
    // sun_path holds 108 bytes and our paths run to 1000: bind a short name in the
    // parent directory (entered for the moment), then rename it into place.
    int here = ::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int parent = ::open(absolute(parentOf(relative)).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool made = here >= 0 && parent >= 0 && sock >= 0 && ::fchdir(parent) == 0;
    if (made) {
        const char* temporary = "socket.tmp~";
        ::unlink(temporary);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strcpy(address.sun_path, temporary);
        made = ::bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
               ::fchmodat(AT_FDCWD, temporary, mode, 0) == 0 &&
               ::renameat(AT_FDCWD, temporary, parent, relative.substr(relative.rfind('/') + 1).c_str()) == 0;
        int saved = errno;
        ::unlink(temporary);
        if (::fchdir(here) != 0)
            made = false;
        errno = saved;
    }
    int saved = errno;
    for (int fd : {sock, parent, here})
        if (fd >= 0)
            ::close(fd);
    errno = saved;
    return made;
}

bool WorkloadContext::create(const std::string& relative, mode_t type) {
    static const std::array<mode_t, 6> kModes = {0644, 0600, 0755, 0444, 0640, 0711};
    mode_t mode = kModes[below(kModes.size())];
    const std::string path = absolute(relative);
    switch (type) {
    case S_IFREG:
        return writeFile(relative, fileSize(), mode);
    case S_IFDIR:
        return check(::mkdir(path.c_str(), mode | 0700) == 0, "mkdir " + quotedPath(relative));
    case S_IFLNK: {
        std::string target = symlinkTarget();
        return check(::symlink(target.c_str(), path.c_str()) == 0,
                     "symlink " + quotedPath(relative) + " -> " + quotedPath(target));
    }
    case S_IFIFO:
        return check(::mkfifo(path.c_str(), mode) == 0, "mkfifo " + quotedPath(relative) + " " + octal(mode));
    case S_IFSOCK:
        return check(makeSocket(relative, mode), "unix socket " + quotedPath(relative) + " " + octal(mode));
    default: {
        // Device numbers from the smallest to the largest the kernel encodes (12-bit
        // major, 20-bit minor): send streams and receive must carry them unchanged.
        static const std::array<std::pair<unsigned, unsigned>, 6> kDevices = {
            {{1, 3}, {0, 0}, {8, 1}, {259, 65536}, {136, 300}, {4095, 1048575}}};
        auto [major, minor] = kDevices[below(kDevices.size())];
        return check(::mknod(path.c_str(), type | mode, makedev(major, minor)) == 0,
                     std::string("mknod ") + typeName(type) + " " + quotedPath(relative) + " " + octal(mode) + " " +
                         std::to_string(major) + ":" + std::to_string(minor));
    }
    }
}

bool WorkloadContext::check(bool succeeded, const std::string& what) {
    note(succeeded ? what : what + " -> failed: " + std::strerror(errno));
    return succeeded;
}

std::vector<std::string> WorkloadContext::takeLog() {
    std::vector<std::string> log;
    log.swap(log_);
    return log;
}

std::string octal(mode_t mode) {
    char text[16];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

std::string describeBytes(std::uint64_t bytes) {
    if (bytes >= (1ull << 30))
        return std::to_string(bytes) + " (" + std::to_string(bytes >> 30) + "+ GiB)";
    static_assert(kChunk == 1u << 20, "chunk boundaries are named in MiB");
    if (bytes + (64 << 10) < kChunk)
        return std::to_string(bytes);
    std::uint64_t chunks = (bytes + kChunk / 2) / kChunk; // the nearest chunk boundary
    std::uint64_t boundary = chunks * kChunk;
    std::string text = std::to_string(bytes) + " (" + std::to_string(chunks) + " MiB";
    if (bytes > boundary)
        text += " + " + std::to_string(bytes - boundary);
    else if (bytes < boundary)
        text += " - " + std::to_string(boundary - bytes);
    return text + ")";
}

std::string describeRange(std::uint64_t offset, std::uint64_t length) {
    return "[" + describeBytes(offset) + ", +" + std::to_string(length) + ")";
}

} // namespace sctest
