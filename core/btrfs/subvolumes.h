#pragma once
// Thin, error-carrying wrappers over libbtrfsutil and the few ioctls it lacks.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace sc::btrfs {

using Uuid = std::array<std::uint8_t, 16>;

bool isNullUuid(const Uuid& uuid);
std::string uuidString(const Uuid& uuid); // 8-4-4-4-12 lowercase
Uuid parseUuid(const std::string& text);  // throws sc::Error

struct SubvolumeInfo {
    std::uint64_t id = 0;
    std::uint64_t generation = 0;
    Uuid uuid{};
    Uuid parentUuid{};
    Uuid receivedUuid{};
    bool readOnly = false;
};

bool isOnBtrfs(const std::string& path);   // path (or its nearest existing ancestor) lies on btrfs
bool isSubvolume(const std::string& path); // path is the root of a subvolume
SubvolumeInfo subvolumeInfo(const std::string& path);

void createSubvolume(const std::string& path);
// Snapshot `source` to `destination` (which must not exist).
void snapshot(const std::string& source, const std::string& destination, bool readOnly);
// Delete a subvolume, clearing its read-only flag first if needed.
void deleteSubvolume(const std::string& path);
// Via the raw SUBVOL_SETFLAGS ioctl: keeps received_uuid, unlike `btrfs property set ro false`.
void setReadOnly(const std::string& path, bool readOnly);
// Remove a directory tree, deleting the subvolumes inside it (e.g. half-received blocks).
void removeTree(const std::string& path);
// Files created in this directory from now on skip copy-on-write and data checksums
// (chattr +C): for scratch data checked by other means. Best effort: false if refused.
bool disableCopyOnWrite(const std::string& directory) noexcept;
// The subvolume `btrfs receive` picks when a stream names `uuid` as a clone or snapshot
// source: the first one the filesystem's UUID tree lists with that received UUID (any
// path on the filesystem will do). None if no subvolume has it.
std::optional<std::uint64_t> firstSubvolumeReceivedAs(const std::string& pathOnFilesystem, const Uuid& uuid);
// Where subvolume `id` lies, relative to the filesystem's top level (for messages).
std::string subvolumePathOf(const std::string& pathOnFilesystem, std::uint64_t id);
// The largest xattr (name and value together) the filesystem holding path can store:
// one item in a tree node, as the kernel's BTRFS_MAX_XATTR_SIZE.
std::uint64_t maxXattrBytes(const std::string& pathOnFilesystem);
// Free bytes available to unprivileged writes on the filesystem holding path.
std::uint64_t availableBytes(const std::string& path);

} // namespace sc::btrfs
