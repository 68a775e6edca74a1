#include "core/btrfs/change_set.h"

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

void ChangeSet::add(const SendCommand& command) {
    ++commands;
    switch (command.type) {
    case SendCommandType::Subvol:
        full = true;
        break;
    case SendCommandType::Snapshot:
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
        dataBytes += command.dataLength;
        touch(command.path);
        break;
    case SendCommandType::UpdateExtent:
    case SendCommandType::EncodedWrite:
        dataBytes += command.size;
        touch(command.path);
        break;
    default: // xattrs, clone, truncate, chmod, chown, utimes, fallocate, fileattr, verity
        touch(command.path);
        break;
    }
}

bool ChangeSet::isUntouched(const std::string& path) const {
    if (full || touched.count(path))
        return false;
    for (std::string p = path;;) {
        if (replaced.count(p))
            return false;
        if (p.empty())
            return true;
        p = parentOf(p);
    }
}

const std::vector<ByteRange>* ChangeSet::writtenRanges(const std::string&) const {
    static const std::vector<ByteRange> everything{{0, UINT64_MAX}}; // until the diff's ranges are collected
    return &everything;
}

bool ChangeSet::hasChangesBelow(const std::string& dir) const { return full || ancestors_.count(dir) > 0; }

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
