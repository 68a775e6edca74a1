#include "core/ledger/block_header_file.h"

#include "core/base/error.h"
#include "core/base/fault_injection.h"
#include "core/base/file_io.h"
#include "core/footprint/footprint_tree.h"
#include "core/ledger/chain_identity.h"

#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sc {

namespace {

constexpr const char* kHeaderName = "header.json";
constexpr mode_t kDirectoryMode = 0755, kFileMode = 0644;
constexpr mode_t kForbiddenDirectoryBits = 07022; // set-id, sticky, group/other write
constexpr mode_t kForbiddenFileBits = 07133;      // the same, and any exec bit

std::string octal(mode_t mode) {
    char text[16];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
    return text;
}

std::string where(const std::string& snapshot) { return displayPath(snapshot + "/" + kHeaderFile); }

// BLOCK/.streamchain as a directory, never through a symlink.
FileDescriptor openHeaderDirectory(const std::string& snapshot, const std::string& shownAs) {
    FileDescriptor block(::open(snapshot.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!block)
        throwSystemError("cannot open block " + displayPath(snapshot), errno);
    FileDescriptor dir(::openat(block.get(), kHeaderDirectory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) {
        int err = errno;
        if (err == ENOTDIR || err == ELOOP)
            throw Error(shownAs + " is not a directory");
        throwSystemError("cannot open " + shownAs, err);
    }
    return dir;
}

// The header file, checked to be a regular file before it is opened (opening a device or
// FIFO can block or act), and opened without following a symlink.
FileDescriptor openHeaderFile(int directory, const std::string& shownAs, struct stat& st) {
    if (::fstatat(directory, kHeaderName, &st, AT_SYMLINK_NOFOLLOW) != 0)
        throwSystemError("cannot read " + shownAs, errno);
    if (!S_ISREG(st.st_mode))
        throw Error(shownAs + " is not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > kMaxHeaderBytes)
        throw Error(shownAs + " is " + std::to_string(st.st_size) + " bytes, more than a header may be");
    FileDescriptor file(::openat(directory, kHeaderName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!file)
        throwSystemError("cannot open " + shownAs, errno);
    struct stat opened {};
    if (::fstat(file.get(), &opened) != 0 || !S_ISREG(opened.st_mode) || opened.st_ino != st.st_ino)
        throw Error(shownAs + " changed while it was opened");
    return file;
}

bool hasXattrs(int fd) { return ::flistxattr(fd, nullptr, 0) > 0; }

void removeXattrs(const std::string& path) {
    ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
    if (size <= 0)
        return;
    std::string names(static_cast<std::size_t>(size), '\0');
    size = ::llistxattr(path.c_str(), names.data(), names.size());
    for (std::size_t at = 0; size > 0 && at < static_cast<std::size_t>(size);) {
        std::string name(names.c_str() + at);
        at += name.size() + 1;
        if (::lremovexattr(path.c_str(), name.c_str()) != 0)
            throwSystemError("cannot remove xattr " + name + " from " + displayPath(path), errno);
    }
}

// Exactly `mode`, whatever the umask or an inherited default ACL made of it.
void makeCanonical(const std::string& path, mode_t mode) {
    removeXattrs(path);
    if (::chmod(path.c_str(), mode) != 0)
        throwSystemError("cannot set the mode of " + displayPath(path), errno);
}

} // namespace

std::string readBlockHeaderText(const std::string& snapshotPath) {
    FileDescriptor dir = openHeaderDirectory(snapshotPath, displayPath(snapshotPath + "/" + kHeaderDirectory));
    struct stat st {};
    FileDescriptor file = openHeaderFile(dir.get(), where(snapshotPath), st);
    return readAllFrom(file.get(), where(snapshotPath), kMaxHeaderBytes);
}

BlockHeader readBlockHeader(const std::string& snapshotPath) {
    return BlockHeader::parse(readBlockHeaderText(snapshotPath), where(snapshotPath));
}

// Twice what is declared, and some: room to name what a tampered copy added, while the
// work stays proportional to the block's own size.
FootprintOptions footprintOptionsBoundedBy(FootprintOptions options, const FootprintCounts& declared) {
    const std::uint64_t entries = declared.entries() + 1; // and the root
    options.maxEntries = 2 * entries + 1024;
    options.maxFileBytes = declared.bytes;
    options.maxHashBytes = 2 * declared.bytes + (64u << 20);
    return options;
}

void writeHeaderDirectory(const std::string& snapshotPath, const BlockHeader& header) {
    std::string text = header.toJson().dump(2) + "\n";
    if (text.size() > kMaxHeaderBytes)
        throw Error("the header of block " + std::to_string(header.height) + " would be " +
                        std::to_string(text.size()) + " bytes; at most " + std::to_string(kMaxHeaderBytes) +
                        " (fewer or smaller operations per block)",
                    ExitCode::Usage);
    struct stat rootBefore {};
    if (::stat(snapshotPath.c_str(), &rootBefore) != 0)
        throwSystemError("cannot stat " + snapshotPath, errno);
    std::string directory = snapshotPath + "/" + kHeaderDirectory;
    std::error_code ec;
    fs::remove_all(directory, ec); // a reserved name: nothing of the user's may stay beside the header
    if (ec)
        throw Error("cannot clear " + displayPath(directory) + ": " + ec.message());
    if (::mkdir(directory.c_str(), kDirectoryMode) != 0)
        throwSystemError("cannot create " + displayPath(directory), errno);
    makeCanonical(directory, kDirectoryMode);
    faultPoint("header-directory-created");
    std::string file = snapshotPath + "/" + kHeaderFile;
    writeFileAtomically(file, text, kFileMode);
    makeCanonical(file, kFileMode);
    // Creating .streamchain/ moved the root's mtime, which the footprint covers.
    struct timespec times[2] = {{0, UTIME_OMIT}, rootBefore.st_mtim};
    if (::utimensat(AT_FDCWD, snapshotPath.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        throwSystemError("cannot restore mtime of " + snapshotPath, errno);
}

void checkHeaderDirectory(const std::string& snapshotPath) {
    // Named relative to the block: the caller says which block on which replica.
    const std::string dirName = std::string(kHeaderDirectory) + "/";
    const std::string fileName = kHeaderFile;
    FileDescriptor dir = openHeaderDirectory(snapshotPath, dirName);
    struct stat st {};
    if (::fstat(dir.get(), &st) != 0)
        throwSystemError("cannot stat " + dirName, errno);
    if (st.st_mode & kForbiddenDirectoryBits)
        throw Error(dirName + " has mode " + octal(st.st_mode & 07777) + " (special or group/other-write bits)");
    if (hasXattrs(dir.get()))
        throw Error(dirName + " carries extended attributes");
    DIR* listing = ::fdopendir(::dup(dir.get()));
    if (!listing)
        throwSystemError("cannot list " + dirName, errno);
    std::string stranger;
    bool headerSeen = false;
    while (dirent* entry = ::readdir(listing)) {
        std::string name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        if (name == kHeaderName)
            headerSeen = true;
        else if (stranger.empty())
            stranger = name;
    }
    ::closedir(listing);
    if (!stranger.empty())
        throw Error(dirName + " holds " + displayPath(stranger) + " besides the header (only header.json may be there)");
    if (!headerSeen)
        throw Error(fileName + " is missing");
    FileDescriptor file = openHeaderFile(dir.get(), fileName, st);
    if (st.st_nlink != 1)
        throw Error(fileName + " has " + std::to_string(st.st_nlink) + " links");
    if (st.st_mode & kForbiddenFileBits)
        throw Error(fileName + " has mode " + octal(st.st_mode & 07777) +
                    " (special, exec or group/other-write bits)");
    if (hasXattrs(file.get()))
        throw Error(fileName + " carries extended attributes");
}

} // namespace sc
