#include "core/btrfs/subvolumes.h"

#include "core/base/error.h"
#include "core/base/file_io.h"

#include <btrfsutil.h>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <endian.h>
#include <filesystem>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace sc::btrfs {

static void check(btrfs_util_error error, const std::string& what) {
    if (error == BTRFS_UTIL_OK)
        return;
    // libbtrfsutil leaves errno set by the failing call; its own string names the step.
    int savedErrno = errno;
    std::string message = what + ": " + btrfs_util_strerror(error);
    if (savedErrno != 0)
        message += std::string(" (") + std::strerror(savedErrno) + ")";
    throw Error(message);
}

bool isNullUuid(const Uuid& uuid) {
    for (auto b : uuid)
        if (b != 0)
            return false;
    return true;
}

std::string uuidString(const Uuid& uuid) {
    char out[37];
    std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", uuid[0],
                  uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9], uuid[10],
                  uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
    return out;
}

Uuid parseUuid(const std::string& text) {
    Uuid uuid{};
    std::size_t byte = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '-')
            continue;
        if (byte >= 32 || !std::isxdigit(static_cast<unsigned char>(text[i])))
            throw Error("malformed UUID '" + text + "'");
        int value = std::isdigit(static_cast<unsigned char>(text[i])) ? text[i] - '0'
                                                                      : (std::tolower(text[i]) - 'a' + 10);
        uuid[byte / 2] = static_cast<std::uint8_t>(uuid[byte / 2] | (byte % 2 == 0 ? value << 4 : value));
        ++byte;
    }
    if (byte != 32)
        throw Error("malformed UUID '" + text + "'");
    return uuid;
}

bool isOnBtrfs(const std::string& path) {
    std::filesystem::path probe = std::filesystem::absolute(path);
    while (!probe.empty() && !std::filesystem::exists(probe) && probe != probe.root_path())
        probe = probe.parent_path();
    struct statfs fs {};
    if (statfs(probe.c_str(), &fs) != 0)
        return false;
    return fs.f_type == BTRFS_SUPER_MAGIC;
}

bool isSubvolume(const std::string& path) {
    return btrfs_util_is_subvolume(path.c_str()) == BTRFS_UTIL_OK;
}

SubvolumeInfo subvolumeInfo(const std::string& path) {
    struct btrfs_util_subvolume_info raw {};
    errno = 0;
    check(btrfs_util_subvolume_info(path.c_str(), 0, &raw), "cannot read subvolume info of " + path);
    SubvolumeInfo info;
    info.id = raw.id;
    info.generation = raw.generation;
    std::memcpy(info.uuid.data(), raw.uuid, 16);
    std::memcpy(info.parentUuid.data(), raw.parent_uuid, 16);
    std::memcpy(info.receivedUuid.data(), raw.received_uuid, 16);
    check(btrfs_util_get_subvolume_read_only(path.c_str(), &info.readOnly),
          "cannot read the read-only flag of " + path);
    return info;
}

void createSubvolume(const std::string& path) {
    errno = 0;
    check(btrfs_util_create_subvolume(path.c_str(), 0, nullptr, nullptr), "cannot create subvolume " + path);
}

void snapshot(const std::string& source, const std::string& destination, bool readOnly) {
    errno = 0;
    int flags = readOnly ? BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY : 0;
    check(btrfs_util_create_snapshot(source.c_str(), destination.c_str(), flags, nullptr, nullptr),
          "cannot snapshot " + source + " to " + destination);
}

void deleteSubvolume(const std::string& path) {
    errno = 0;
    bool readOnly = false;
    if (btrfs_util_get_subvolume_read_only(path.c_str(), &readOnly) == BTRFS_UTIL_OK && readOnly)
        setReadOnly(path, false);
    errno = 0;
    check(btrfs_util_delete_subvolume(path.c_str(), 0), "cannot delete subvolume " + path);
}

void setReadOnly(const std::string& path, bool readOnly) {
    errno = 0;
    check(btrfs_util_set_subvolume_read_only(path.c_str(), readOnly),
          std::string("cannot make ") + path + (readOnly ? " read-only" : " writable"));
}

void removeTree(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(path)))
        return;
    if (isSubvolume(path)) {
        deleteSubvolume(path);
        return;
    }
    if (std::filesystem::is_directory(std::filesystem::symlink_status(path))) {
        for (const auto& entry : std::filesystem::directory_iterator(path, ec))
            removeTree(entry.path().string());
    }
    std::filesystem::remove_all(path, ec);
    if (ec)
        throw Error("cannot remove " + path + ": " + ec.message());
}

bool disableCopyOnWrite(const std::string& directory) noexcept {
    FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd)
        return false;
    int flags = 0;
    bool ok = ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) == 0;
    if (ok && !(flags & FS_NOCOW_FL)) {
        flags |= FS_NOCOW_FL;
        ok = ::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) == 0;
    }
    return ok;
}

std::uint64_t availableBytes(const std::string& path) {
    struct statvfs fs {};
    if (statvfs(path.c_str(), &fs) != 0)
        throwSystemError("cannot stat filesystem of " + path, errno);
    return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
}

std::optional<std::uint64_t> firstSubvolumeReceivedAs(const std::string& pathOnFilesystem, const Uuid& uuid) {
    FileDescriptor fd(::open(pathOnFilesystem.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd)
        throw Error("cannot open " + pathOnFilesystem + ": " + std::strerror(errno));
    // The UUID tree keys an entry by the UUID's two little-endian halves; its item lists
    // subvolume ids in the order they were given that received UUID.
    auto half = [&](std::size_t at) {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < 8; ++i)
            v |= static_cast<std::uint64_t>(uuid[at + i]) << (8 * i);
        return v;
    };
    btrfs_ioctl_search_args args {};
    args.key.tree_id = BTRFS_UUID_TREE_OBJECTID;
    args.key.min_objectid = args.key.max_objectid = half(0);
    args.key.min_type = args.key.max_type = BTRFS_UUID_KEY_RECEIVED_SUBVOL;
    args.key.min_offset = args.key.max_offset = half(8);
    args.key.max_transid = UINT64_MAX;
    args.key.nr_items = 1;
    if (::ioctl(fd.get(), BTRFS_IOC_TREE_SEARCH, &args) != 0) {
        int err = errno;
        throw Error("cannot search the UUID tree of " + pathOnFilesystem + ": " + std::strerror(err));
    }
    if (args.key.nr_items < 1)
        return std::nullopt;
    btrfs_ioctl_search_header header {};
    std::memcpy(&header, args.buf, sizeof header);
    if (header.len < 8 || header.len % 8 != 0)
        return std::nullopt;
    std::uint64_t first = 0;
    std::memcpy(&first, args.buf + sizeof header, sizeof first);
    return le64toh(first);
}

std::uint64_t maxXattrBytes(const std::string& pathOnFilesystem) {
    FileDescriptor fd(::open(pathOnFilesystem.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd)
        throw Error("cannot open " + pathOnFilesystem + ": " + std::strerror(errno));
    btrfs_ioctl_fs_info_args info {};
    if (::ioctl(fd.get(), BTRFS_IOC_FS_INFO, &info) != 0) {
        int err = errno;
        throw Error("cannot read the filesystem info of " + pathOnFilesystem + ": " + std::strerror(err));
    }
    // A node's header (101 bytes), one item (25) and the xattr's dir item (30).
    return info.nodesize - 101 - 25 - 30;
}

std::string subvolumePathOf(const std::string& pathOnFilesystem, std::uint64_t id) {
    char* path = nullptr;
    if (btrfs_util_subvolume_path(pathOnFilesystem.c_str(), id, &path) != BTRFS_UTIL_OK)
        return "subvolume " + std::to_string(id);
    std::string result = std::string("/") + path;
    std::free(path);
    return result;
}

} // namespace sc::btrfs
