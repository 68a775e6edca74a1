#include "core/replica/stream_gate.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/btrfs/send_stream_parser.h"
#include "core/footprint/footprint_tree.h"
#include "core/replica/stream_gate_attributes.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// What each command of a block's stream may do (the framing is in stream_gate.cpp).
namespace sc {

using namespace gate;

namespace {

constexpr std::size_t kWriteChunk = 48u << 10; // what the kernel puts in one write command

// What btrfs receive would resolve the same way we read it: relative, no empty, "." or
// ".." component, no NUL (receive reads paths as C strings), within PATH_MAX.
bool isCanonicalPath(std::string_view path) {
    if (path.empty() || path.size() > kMaxPath || path.find('\0') != std::string_view::npos)
        return false;
    for (std::size_t start = 0;;) {
        std::size_t slash = path.find('/', start);
        std::string_view component = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
        if (component.empty() || component == "." || component == ".." || component.size() > kMaxName)
            return false;
        if (slash == std::string_view::npos)
            return true;
        start = slash + 1;
    }
}

// What the kernel sends for a block's contents; not update_extent (metadata-only diffs),
// enable_verity (v3) or anything unknown, which receive would skip silently.
bool isBlockCommand(std::uint16_t type) {
    using T = SendCommandType;
    switch (static_cast<T>(type)) {
    case T::Mkfile: case T::Mkdir: case T::Mknod: case T::Mkfifo: case T::Mksock: case T::Symlink: case T::Rename:
    case T::Link: case T::Unlink: case T::Rmdir: case T::SetXattr: case T::RemoveXattr: case T::Write:
    case T::Clone: case T::Truncate: case T::Chmod: case T::Chown: case T::Utimes: case T::Fallocate:
    case T::Fileattr: case T::EncodedWrite:
        return true;
    default:
        return false;
    }
}

bool addWithin(std::uint64_t a, std::uint64_t b, std::uint64_t limit) { return a <= limit && b <= limit - a; }

// The noted paths after a rename: whatever was at `to` is replaced, and the names at and
// below `from` move with it (a chown noted in a directory renamed later in the stream).
void renameNotedPaths(std::set<std::string>& paths, const std::string& from, const std::string& to) {
    auto atOrBelow = [](const std::string& path, const std::string& top) {
        return path.starts_with(top) && (path.size() == top.size() || path[top.size()] == '/');
    };
    std::erase_if(paths, [&](const std::string& path) { return atOrBelow(path, to); });
    std::vector<std::string> moved;
    for (auto it = paths.lower_bound(from); it != paths.end() && it->starts_with(from);) {
        if (atOrBelow(*it, from)) {
            moved.push_back(to + it->substr(from.size()));
            it = paths.erase(it);
        } else {
            ++it;
        }
    }
    paths.insert(moved.begin(), moved.end());
}

} // namespace

// The checks one command's attributes go through, against the signed header's bounds
// for the block the command belongs to.
struct StreamGate::CommandCheck {
    const StreamGate& gate;
    std::uint16_t type;
    const Attributes& attrs;
    const GatedBlock& block;
    BlockTally& tally;

    [[noreturn]] void refuse(const std::string& why) const { gate.refuse(why); }
    bool is(SendCommandType t) const { return type == static_cast<std::uint16_t>(t); }

    void path(std::uint16_t attr, bool rootAllowed) const {
        std::string text = attrs.text(attr);
        if (text.size() > kMaxPath)
            refuse(std::string("a path of ") + std::to_string(text.size()) + " bytes in a " + commandName(type) +
                   " command, longer than receive takes (" + std::to_string(kMaxPath) + ")");
        if (!(text.empty() && rootAllowed) && !isCanonicalPath(text))
            refuse(std::string("path \"") + displayPath(text) + "\" in a " + commandName(type) +
                   " command is not canonical (receive would resolve it differently)");
    }
    void within(std::uint64_t offset, std::uint64_t length) const {
        if (!addWithin(offset, length, block.maxFileBytes))
            refuse(std::string("a ") + commandName(type) + " reaching byte " + std::to_string(offset) + "+" +
                   std::to_string(length) + ", past the " + std::to_string(block.maxFileBytes) +
                   " bytes the signed header allows");
    }
    void written(std::uint64_t offset, std::uint64_t length) const {
        within(offset, length);
        if (!addWithin(tally.dataBytes, length, block.maxFileBytes))
            refuse("more data than the " + std::to_string(block.maxFileBytes) + " bytes the signed header allows");
        tally.dataBytes += length;
    }
    void newName() const {
        if (++tally.newNames > block.maxNewNames)
            refuse("more new names than the signed header's " + std::to_string(block.maxNewNames) + " entries");
    }
    // What any command must be: of this stream's version, one a block holds, at a canonical
    // path (the subvolume root only for attribute changes), with data only if it writes.
    void shape(std::uint32_t version) const {
        using T = SendCommandType;
        if (version < 2 && type > kLastCommandV1)
            refuse(std::string("a ") + commandName(type) + " command in a version 1 stream");
        if (!isBlockCommand(type))
            refuse(std::string("a ") + commandName(type) + " command (type " + std::to_string(type) +
                   ") has no place in a block's stream");
        const bool rootAllowed = is(T::Chmod) || is(T::Chown) || is(T::Utimes) || is(T::SetXattr) ||
                                 is(T::RemoveXattr) || is(T::Fileattr);
        path(APath, rootAllowed);
        if (attrs.present[AData] && !is(T::Write) && !is(T::EncodedWrite))
            refuse(std::string("file data in a ") + commandName(type) + " command");
    }
    void xattr(std::uint64_t maxXattrBytes) const {
        std::string name = attrs.text(AXattrName);
        if (name.empty() || name.find('\0') != std::string::npos)
            refuse("an xattr name that is empty or holds a NUL byte");
        if (is(SendCommandType::SetXattr) && name.size() + attrs.raw(AXattrData).size() > maxXattrBytes)
            refuse("xattr " + displayPath(name) + " of " + std::to_string(attrs.raw(AXattrData).size()) +
                   " bytes, more than btrfs holds here (" + std::to_string(maxXattrBytes) + " with its name)");
    }
    // A clone stays inside the block, or reads from its parent; true when the source is the
    // parent (then our own copy of the parent may stand in for receive's).
    bool cloneFromParent() const {
        path(AClonePath, false);
        if (attrs.u64(ACloneLen) == 0)
            refuse("a clone of length 0 (to the end of its source; btrfs send never sends one)");
        within(attrs.u64(AFileOffset), attrs.u64(ACloneLen));
        btrfs::Uuid source = attrs.uuid(ACloneUuid);
        if (source == block.uuid)
            return false; // within the block being received, inside receive's chroot
        if (!block.parentUuid || source != *block.parentUuid)
            refuse("a clone source that is neither this block nor its parent");
        return true;
    }
};

bool StreamGate::checkContent(std::uint16_t type, const Attributes& attrs) {
    using T = SendCommandType;
    const std::size_t index = tallies_.size() - 1;
    BlockTally& tally = tallies_.back();
    const CommandCheck check{*this, type, attrs, blocks_[index], tally};
    check.shape(version_);
    switch (static_cast<T>(type)) {
    case T::Mkfile: case T::Mkdir: case T::Mkfifo: case T::Mksock: case T::Mknod: case T::Symlink:
        check.newName();
        break;
    case T::Rename:
        check.path(APathTo, false);
        renameNotedPaths(tally.chownedWithoutChmod, attrs.text(APath), attrs.text(APathTo));
        break;
    case T::Link:
        check.path(APathLink, false);
        check.newName();
        if (tally.chownedWithoutChmod.contains(attrs.text(APathLink))) // the inode may lose the noted name next
            tally.chownedWithoutChmod.insert(attrs.text(APath));
        break;
    case T::Chown:
        tally.chownedWithoutChmod.insert(attrs.text(APath));
        break;
    case T::Chmod: case T::Unlink:
        tally.chownedWithoutChmod.erase(attrs.text(APath));
        break;
    case T::Rmdir: case T::Utimes: case T::Fileattr:
        break;
    case T::SetXattr: case T::RemoveXattr:
        check.xattr(maxXattrBytes_);
        break;
    case T::Write:
        check.written(attrs.u64(AFileOffset), attrs.raw(AData).size());
        break;
    case T::EncodedWrite:
        check.written(attrs.u64(AFileOffset), attrs.u64(AUnencodedFileLen));
        break;
    case T::Truncate:
        check.within(attrs.u64(ASize), 0);
        break;
    case T::Fallocate:
        check.within(attrs.u64(AFileOffset), attrs.u64(ASize));
        break;
    case T::Clone:
        if (check.cloneFromParent())
            if (std::optional<std::string> ourCopy = hooks_.cloneFromParent(index)) {
                cloneAsWrites(attrs, *ourCopy);
                return true;
            }
        break;
    default:
        break;
    }
    return false;
}

// The bytes a clone from the parent would share, written instead, read from the replica's
// own copy of the parent: beneath its root, through no symlink, a regular file.
void StreamGate::cloneAsWrites(const Attributes& attrs, const std::string& sourceRoot) {
    const std::string clonePath = attrs.text(AClonePath);
    FileDescriptor root(::open(sourceRoot.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root)
        refuse("cannot open the parent copy " + displayPath(sourceRoot));
    open_how how{};
    how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    FileDescriptor fd(
        static_cast<int>(::syscall(SYS_openat2, root.get(), clonePath.c_str(), &how, sizeof how)));
    root.reset();
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        refuse("clone source \"" + displayPath(clonePath) + "\" is not a regular file in the parent block");
    const std::string path = attrs.text(APath);
    const std::uint64_t offset = attrs.u64(AFileOffset), length = attrs.u64(ACloneLen);
    const std::uint64_t sourceOffset = attrs.u64(ACloneOffset);
    std::vector<std::uint8_t> out; // one write command at a time
    std::vector<std::uint8_t> data(kWriteChunk);
    auto put = [&](std::uint64_t value, int bytes) { // little-endian, as the stream is
        for (int i = 0; i < bytes; ++i)
            out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    };
    for (std::uint64_t done = 0; done < length;) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kWriteChunk, length - done));
        ssize_t n = ::pread(fd.get(), data.data(), want, static_cast<off_t>(sourceOffset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            refuse("cannot read the clone source \"" + displayPath(clonePath) + "\" in the parent block");
        if (n == 0 && done == 0)
            refuse("clone source \"" + displayPath(clonePath) + "\" ends before the cloned range");
        if (n == 0)
            break; // the source ends here, as a clone would have
        out.clear();
        put(0, 4); // length, filled in below
        put(static_cast<std::uint16_t>(SendCommandType::Write), 2);
        put(0, 4); // CRC, over the command with this field zero
        put(APath, 2);
        put(path.size(), 2);
        out.insert(out.end(), path.begin(), path.end());
        put(AFileOffset, 2);
        put(8, 2);
        put(offset + done, 8);
        put(AData, 2);
        if (version_ < 2)
            put(static_cast<std::uint64_t>(n), 2);
        out.insert(out.end(), data.begin(), data.begin() + n);
        auto store32 = [&](std::size_t at, std::uint32_t value) {
            for (std::size_t i = 0; i < 4; ++i)
                out[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
        };
        store32(0, static_cast<std::uint32_t>(out.size() - kCommandHeader));
        store32(6, crc32c(0, out));
        emit_(out);
        done += static_cast<std::uint64_t>(n);
    }
}

} // namespace sc
