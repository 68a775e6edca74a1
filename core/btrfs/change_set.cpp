#include "core/btrfs/change_set.h"

#include <algorithm>
#include <regex>

namespace sc {

// Why these rules are safe: a path whose cached digest we reuse must name the same,
// unchanged object as in the parent. An object only changes through a command that
// names it (under whatever name it had at that moment), and only moves through a
// rename or link that names its destination. Destinations are `replaced`, so nothing
// below them is reused, which covers objects changed under a temporary orphan name
// (o<ino>-<gen>-<idx>) before their final rename. Over-marking only costs hashing.
// A write names one path of a hard-linked inode: updateFootprint adds the inode's
// other names (touchAlias) before it reuses anything.
//
// Written ranges are keyed by the path a content command named, and are only used for
// paths outside `replaced` subtrees, which the footprint re-hashes in full. For such a
// path the name a command used is the final name of the same object: another object
// could only have come to that path, or to a directory above it, through a rename,
// link or mk* naming it or that directory as destination, which would make the path
// replaced. An object changed under an orphan name or before a move ends below a
// destination too. Renames therefore need no tracking here.
//
// Memory stays bounded per path: the kernel sends an inode's extents in ascending
// offset order (a hole may come right after the extent that ends it), so merging into
// the path's last range catches adjacent extents, and a path fragmented past
// kMaxWrittenRangesPerPath counts as changed everywhere.
//
// Where a change splits an extent, the kernel may send the untouched rest of it as a
// CLONE from the same path at the same offset, in the parent or in the sent subvolume
// itself. For a path outside replaced subtrees that names the same object, so those
// bytes equal the parent's (or the clone copies a range onto itself): no range.

static std::string parentOf(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

void ChangeSet::touch(const std::string& path) {
    if (!touched.insert(path).second)
        return;
    for (std::string p = path; !p.empty();) {
        p = parentOf(p);
        if (!ancestors_.insert(p).second)
            break;
    }
}

void ChangeSet::touchWithParent(const std::string& path) {
    touch(path);
    touch(parentOf(path));
}

void ChangeSet::replace(const std::string& path) {
    replaced.insert(path);
    touchWithParent(path);
}

void ChangeSet::addWritten(const std::string& path, std::uint64_t offset, std::uint64_t length) {
    length = std::min(length, kWholeFileRange.length - offset); // a crafted offset + length must not wrap
    std::vector<ByteRange>& ranges = written[path];
    if (!ranges.empty()) {
        ByteRange& last = ranges.back();
        if (offset <= last.end() && last.offset <= offset + length) {
            std::uint64_t end = std::max(last.end(), offset + length);
            last.offset = std::min(last.offset, offset);
            last.length = end - last.offset;
            return;
        }
    }
    if (ranges.size() == kMaxWrittenRangesPerPath) {
        ranges.assign(1, kWholeFileRange);
        return;
    }
    ranges.push_back({offset, length});
}

bool ChangeSet::clonesItself(const SendCommand& clone) const {
    bool fromParentOrItself = clone.cloneUuid.size() == 16 &&
                              (clone.cloneUuid == parentUuid_ || clone.cloneUuid == sentUuid_);
    return fromParentOrItself && clone.clonePath == clone.path && clone.cloneOffset == clone.fileOffset;
}

const std::vector<ByteRange>* ChangeSet::writtenRanges(const std::string& path) const {
    auto found = written.find(path);
    return found == written.end() ? nullptr : &found->second;
}

void ChangeSet::dropPaths() {
    pathsDropped = true;
    touched.clear();
    replaced.clear();
    written.clear();
    ancestors_.clear();
}

// The file bytes a real (not metadata-only) stream carries for this command.
static std::uint64_t dataBytesOf(const SendCommand& command) {
    switch (command.type) {
    case SendCommandType::Write: return command.dataLength;
    case SendCommandType::UpdateExtent:
    case SendCommandType::EncodedWrite: return command.size; // the unencoded length: at least the range written
    default: return 0;
    }
}

void ChangeSet::add(const SendCommand& command) {
    ++commands;
    dataBytes += dataBytesOf(command);
    if (command.type == SendCommandType::Subvol)
        full = true;
    if (pathsDropped) // counting only
        return;
    switch (command.type) {
    case SendCommandType::Subvol:
        sentUuid_ = command.uuid;
        break;
    case SendCommandType::Snapshot:
        sentUuid_ = command.uuid;
        parentUuid_ = command.cloneUuid;
        break;
    case SendCommandType::End:
    case SendCommandType::Unspec:
        break;
    case SendCommandType::Mkfile:
    case SendCommandType::Mkdir:
    case SendCommandType::Mknod:
    case SendCommandType::Mkfifo:
    case SendCommandType::Mksock:
    case SendCommandType::Symlink:
        replace(command.path);
        break;
    case SendCommandType::Rename:
        touchWithParent(command.path);
        replace(command.pathTo);
        break;
    case SendCommandType::Link:
        replace(command.path);
        touch(command.pathLink);
        break;
    case SendCommandType::Unlink:
    case SendCommandType::Rmdir:
        touchWithParent(command.path);
        break;
    case SendCommandType::Write:
        touch(command.path);
        addWritten(command.path, command.fileOffset, command.dataLength);
        break;
    case SendCommandType::UpdateExtent:
    case SendCommandType::EncodedWrite:
        touch(command.path);
        addWritten(command.path, command.fileOffset, command.size);
        break;
    case SendCommandType::Clone:
        touch(command.path);
        if (!clonesItself(command))
            addWritten(command.path, command.fileOffset, command.cloneLength);
        break;
    case SendCommandType::Fallocate:
        touch(command.path);
        addWritten(command.path, command.fileOffset, command.size);
        break;
    case SendCommandType::Truncate: // the footprint sees the size change itself; this marks the content
        touch(command.path);
        addWritten(command.path, command.size, 0);
        break;
    default: // xattrs, chmod, chown, utimes, fileattr, verity
        touch(command.path);
        break;
    }
}

bool ChangeSet::isReplacedOrBelow(const std::string& path) const {
    for (std::string p = path;;) {
        if (replaced.count(p))
            return true;
        if (p.empty())
            return false;
        p = parentOf(p);
    }
}

bool ChangeSet::isUntouched(const std::string& path) const {
    return !full && !pathsDropped && !touched.count(path) && !isReplacedOrBelow(path);
}

bool ChangeSet::hasChangesBelow(const std::string& dir) const {
    return full || pathsDropped || ancestors_.count(dir) > 0;
}

std::vector<std::string> ChangeSet::displayPaths() const {
    static const std::regex orphan("(^|/)o[0-9]+-[0-9]+-[0-9]+(/|$)");
    std::set<std::string> all(touched.begin(), touched.end());
    all.insert(replaced.begin(), replaced.end());
    std::vector<std::string> result;
    for (const auto& path : all)
        if (!path.empty() && !std::regex_search(path, orphan))
            result.push_back(path);
    return result;
}

ChangeSet changeSetFromStream(std::span<const std::uint8_t> wholeStream) {
    ChangeSet changes;
    SendStreamParser parser([&changes](const SendCommand& command) { changes.add(command); });
    parser.feed(wholeStream);
    parser.finish();
    return changes;
}

} // namespace sc
