// Metadata: permission bits (setuid, setgid and sticky included), owners, mtimes
// set to explicit nanoseconds (earlier ones, before 1970, after 2038) and user.*
// and trusted.* xattrs from empty to 16 KiB. The root of the tree is a candidate
// like any entry.
#include "tests/support/fs_workload_operations.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace sctest {

namespace {

mode_t currentMode(WorkloadContext& c, const std::string& relative) {
    struct stat st {};
    ::lstat(c.absolute(relative).c_str(), &st);
    return st.st_mode;
}

void changeMode(WorkloadContext& c, const FsEntry& entry) {
    if (entry.isSymlink())
        return; // Linux has no modes on symlinks
    static const std::array<mode_t, 16> kModes = {0644,  0600,  0755,  0000,  0777,  04755, 02755, 06755,
                                                  01777, 01755, 02644, 04700, 07777, 0444,  02711, 01600};
    mode_t mode = kModes[c.below(kModes.size())];
    c.check(::chmod(c.absolute(entry.path).c_str(), mode) == 0,
            "chmod " + quotedPath(entry.path) + " " + octal(entry.mode) + " -> " + octal(mode));
}

void changeOwner(WorkloadContext& c, const FsEntry& entry) {
    static const std::array<std::uint32_t, 8> kIds = {0, 1, 1000, 65534, 100000, 1234567, 4000000000u, 4294967294u};
    auto uid = static_cast<uid_t>(c.chance(20) ? static_cast<std::uint32_t>(-1) : kIds[c.below(kIds.size())]);
    auto gid = static_cast<gid_t>(c.chance(20) ? static_cast<std::uint32_t>(-1) : kIds[c.below(kIds.size())]);
    const std::string path = c.absolute(entry.path);
    mode_t before = currentMode(c, entry.path);
    c.check(::lchown(path.c_str(), uid, gid) == 0, "chown " + quotedPath(entry.path) + " " +
                                                       (uid == static_cast<uid_t>(-1) ? "-" : std::to_string(uid)) +
                                                       ":" + (gid == static_cast<gid_t>(-1) ? "-" : std::to_string(gid)));
    // chown clears setuid/setgid; setting them again leaves a block whose mode equals
    // its parent's while the owner changed: receive must not lose the bits.
    mode_t after = currentMode(c, entry.path);
    bool restore = c.chance(70) && c.options().setIdAfterChown; // drawn either way: same run otherwise
    if (after != before && !S_ISLNK(before) && restore)
        c.check(::chmod(path.c_str(), before & 07777) == 0,
                "chmod " + quotedPath(entry.path) + " back to " + octal(before) + " (chown cleared " +
                    octal(before & ~after) + ")");
}

struct timespec interestingTime(WorkloadContext& c, const struct timespec& current) {
    auto nanos = static_cast<long>(c.below(1000000000));
    switch (c.below(6)) {
    case 0: // earlier than now: a block whose mtime went backwards
        return {current.tv_sec - static_cast<time_t>(c.between(1, 400000000)), nanos};
    case 1: return {current.tv_sec, c.chance(50) ? 0 : 999999999};
    case 2: return {-static_cast<time_t>(c.between(1, 2000000000)), nanos}; // before 1970
    case 3: return {static_cast<time_t>(c.between(1ull << 31, 1ull << 34)), nanos}; // after 2038
    case 4: return {current.tv_sec, nanos == current.tv_nsec ? (nanos + 1) % 1000000000 : nanos}; // ns only
    default: return {static_cast<time_t>(c.between(0, 1700000000)), nanos};
    }
}

void changeMtime(WorkloadContext& c, const FsEntry& entry) {
    struct stat st {};
    ::lstat(c.absolute(entry.path).c_str(), &st);
    struct timespec mtime = interestingTime(c, st.st_mtim);
    struct timespec atime = c.chance(50) ? timespec{0, UTIME_OMIT} : interestingTime(c, st.st_atim);
    struct timespec times[2] = {atime, mtime};
    char text[48];
    std::snprintf(text, sizeof text, "%lld.%09ld", static_cast<long long>(mtime.tv_sec), mtime.tv_nsec);
    c.check(::utimensat(AT_FDCWD, c.absolute(entry.path).c_str(), times, AT_SYMLINK_NOFOLLOW) == 0,
            "set mtime of " + quotedPath(entry.path) + " to " + text + (atime.tv_nsec == UTIME_OMIT ? "" : " (and atime)"));
}

// user.* xattrs exist on files and directories only (the kernel refuses them elsewhere);
// trusted.* ones (root only) on every kind of entry, symlinks and devices included.
bool takesUserXattrs(const FsEntry& entry) { return entry.isFile() || entry.isDirectory(); }

std::vector<std::string> workloadXattrs(WorkloadContext& c, const std::string& relative) {
    std::string names(65536, '\0');
    ssize_t size = ::llistxattr(c.absolute(relative).c_str(), names.data(), names.size());
    std::vector<std::string> result;
    for (std::size_t at = 0; size > 0 && at < static_cast<std::size_t>(size);) {
        std::string name(names.c_str() + at);
        at += name.size() + 1;
        if (name.rfind("user.", 0) == 0 || name.rfind("trusted.", 0) == 0)
            result.push_back(name);
    }
    return result;
}

std::string xattrValue(WorkloadContext& c) {
    switch (c.below(5)) {
    case 0: return {};
    case 1:
    case 2: return c.content(c.between(1, 64));
    case 3: return c.content(c.between(100, 2000));
    default: return c.content(c.between(4096, 16000)); // near btrfs's limit for one item
    }
}

bool setXattr(WorkloadContext& c, const std::string& relative, const std::string& name, const char* verb,
              std::size_t limit = SIZE_MAX) {
    std::string value = xattrValue(c);
    value.resize(std::min(value.size(), limit));
    return c.check(::lsetxattr(c.absolute(relative).c_str(), name.c_str(), value.data(), value.size(), 0) == 0,
                   std::string(verb) + " xattr " + quotedPath(name) + " (" + std::to_string(value.size()) +
                       " bytes) on " + quotedPath(relative));
}

void addXattr(WorkloadContext& c, const FsEntry& entry) {
    static const std::array<const char*, 4> kStems = {"k", "with space ", "\xc3\xbc-", "a.b."};
    bool trusted = c.chance(25) || !takesUserXattrs(entry);
    std::string name = (trusted ? "trusted." : "user.") + std::string(kStems[c.below(kStems.size())]) +
                       std::to_string(c.below(40));
    setXattr(c, entry.path, name, "set");
}

void changeXattr(WorkloadContext& c, const FsEntry& entry) {
    auto names = workloadXattrs(c, entry.path);
    if (names.empty())
        return addXattr(c, entry);
    setXattr(c, entry.path, c.oneOf(names), "change", c.options().largeXattrChanges ? SIZE_MAX : 2000);
}

void removeXattr(WorkloadContext& c, const FsEntry& entry) {
    auto names = workloadXattrs(c, entry.path);
    if (names.empty())
        return addXattr(c, entry);
    const std::string& name = c.oneOf(names);
    c.check(::lremovexattr(c.absolute(entry.path).c_str(), name.c_str()) == 0,
            "remove xattr " + quotedPath(name) + " from " + quotedPath(entry.path));
}

FsEntry anyEntry(WorkloadContext& c) { return *c.pick([](const FsEntry&) { return true; }); }

// Entries that hold an xattr already, so changes and removals find something.
FsEntry entryWithXattrs(WorkloadContext& c) {
    std::vector<FsEntry> holders;
    for (const auto& entry : c.tree())
        if (!workloadXattrs(c, entry.path).empty())
            holders.push_back(entry);
    if (!holders.empty() && c.chance(85))
        return c.oneOf(holders);
    return anyEntry(c);
}

FsEntry ownerTarget(WorkloadContext& c) {
    auto special = c.pick([](const FsEntry& e) { return !e.isSymlink() && (e.mode & 06000); });
    return special && c.chance(50) ? *special : anyEntry(c);
}

} // namespace

void changeMetadataOf(WorkloadContext& c, const FsEntry& entry) {
    static void (*const kChanges[])(WorkloadContext&, const FsEntry&) = {
        changeMode, changeOwner, changeMtime, addXattr, changeXattr, removeXattr};
    kChanges[c.below(std::size(kChanges))](c, entry);
}

std::vector<WorkloadOperation> metadataOperations() {
    return {
        {"chmod", [](WorkloadContext& c) { changeMode(c, *c.pick([](const FsEntry& e) { return !e.isSymlink(); })); }},
        {"chown", [](WorkloadContext& c) { changeOwner(c, ownerTarget(c)); }},
        {"set-mtime", [](WorkloadContext& c) { changeMtime(c, anyEntry(c)); }},
        {"xattr-set", [](WorkloadContext& c) { addXattr(c, anyEntry(c)); }},
        {"xattr-change", [](WorkloadContext& c) { changeXattr(c, entryWithXattrs(c)); }},
        {"xattr-remove", [](WorkloadContext& c) { removeXattr(c, entryWithXattrs(c)); }},
    };
}

} // namespace sctest
