#include "core/footprint/object_digest.h"

namespace sc {

namespace {

// A reuse guard only compares these for equality, so times past 2262 (btrfs keeps 64-bit
// seconds) wrap modulo 2^64 instead of overflowing: distinct times stay distinct within 584 years.
std::int64_t nanoseconds(const struct timespec& t) {
    auto wrapped = static_cast<std::uint64_t>(t.tv_sec) * 1000000000u + static_cast<std::uint64_t>(t.tv_nsec);
    return static_cast<std::int64_t>(wrapped);
}

} // namespace

EntryType typeOf(mode_t mode) {
    switch (mode & S_IFMT) {
    case S_IFDIR: return EntryType::Directory;
    case S_IFLNK: return EntryType::Symlink;
    case S_IFCHR: return EntryType::CharDevice;
    case S_IFBLK: return EntryType::BlockDevice;
    case S_IFIFO: return EntryType::Fifo;
    case S_IFSOCK: return EntryType::Socket;
    default: return EntryType::File;
    }
}

bool guardHolds(const FootprintEntry& entry, const struct stat& st) {
    return entry.type == typeOf(st.st_mode) && entry.inode == st.st_ino &&
           entry.ctimeNs == nanoseconds(st.st_ctim) && entry.mtimeNs == nanoseconds(st.st_mtim) &&
           entry.nlink == st.st_nlink &&
           (entry.type != EntryType::File || entry.size == static_cast<std::uint64_t>(st.st_size));
}

FootprintEntry entryOf(const ObjectMeta& meta) {
    FootprintEntry entry;
    entry.type = meta.type;
    entry.size = meta.type == EntryType::File ? static_cast<std::uint64_t>(meta.st.st_size) : 0;
    entry.inode = meta.st.st_ino;
    entry.ctimeNs = nanoseconds(meta.st.st_ctim);
    entry.mtimeNs = nanoseconds(meta.st.st_mtim);
    entry.nlink = static_cast<std::uint32_t>(meta.st.st_nlink);
    return entry;
}

// An object's digest starts with its type and the metadata the chain's features cover;
// the caller adds the payload (file content digest, link target or listing).
Hasher startDigest(const FootprintOptions& options, const ObjectMeta& meta) {
    const std::uint32_t f = options.features;
    const struct stat& st = meta.st;
    Hasher h(options.algorithm);
    h.updateU8(static_cast<std::uint8_t>(meta.type));
    if (f & FeatureMode)
        h.updateU32(st.st_mode & 07777);
    if (f & FeatureOwnership)
        h.updateU32(st.st_uid).updateU32(st.st_gid);
    if ((f & FeatureSize) && meta.type == EntryType::File)
        h.updateU64(static_cast<std::uint64_t>(st.st_size));
    if (f & FeatureMtime)
        h.updateU64(static_cast<std::uint64_t>(st.st_mtim.tv_sec)).updateU32(static_cast<std::uint32_t>(st.st_mtim.tv_nsec));
    if ((f & FeatureRdev) && (meta.type == EntryType::CharDevice || meta.type == EntryType::BlockDevice))
        h.updateU64(st.st_rdev);
    if (f & FeatureXattrs) {
        h.updateU32(static_cast<std::uint32_t>(meta.xattrs.size()));
        for (const auto& [name, value] : meta.xattrs)
            h.updateSized(name).updateSized(value);
    }
    return h;
}

} // namespace sc
