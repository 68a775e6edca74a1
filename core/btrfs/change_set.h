#pragma once
// What changed between two snapshots, from the kernel's metadata-only
// incremental send: the paths whose footprint must be recomputed, and which
// byte ranges of their contents the kernel said it changed.
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/base/byte_range.h"
#include "core/btrfs/send_stream_parser.h"

namespace sc {

// Past this many ranges for one path, its ranges collapse to kWholeFileRange.
inline constexpr std::size_t kMaxWrittenRangesPerPath = 4096;
inline constexpr ByteRange kWholeFileRange{0, std::numeric_limits<std::uint64_t>::max()};

struct ChangeSet {
    std::set<std::string> touched;  // content, metadata or listing of this path changed ("" = root)
    std::set<std::string> replaced; // a new object was put here: nothing below may be reused
    bool full = false;              // a full stream: everything is new
    std::uint64_t dataBytes = 0;    // file bytes a real stream carries (WRITE / UPDATE_EXTENT lengths)
    std::uint64_t commands = 0;
    // The paths were let go to bound memory (see kernelDiff): nothing may be reused, and
    // only commands and dataBytes still count.
    bool pathsDropped = false;
    // Per path a command named: the byte ranges that WRITE, CLONE, UPDATE_EXTENT,
    // ENCODED_WRITE and FALLOCATE covered, in the order sent (mostly ascending, not
    // sorted), a range merged into the previous one where they overlap or touch; a
    // TRUNCATE adds an empty range at the new size. A CLONE of a path onto itself at the
    // same offset adds none (see change_set.cpp). Valid only for paths outside `replaced`
    // subtrees, and only for the name a command used: other names of a hard-linked inode
    // get none.
    std::map<std::string, std::vector<ByteRange>> written;

    void add(const SendCommand& command);
    void dropPaths();
    // The ranges of `path` whose contents may differ from the parent's; null if no
    // content command named it (only metadata changed, or nothing).
    const std::vector<ByteRange>* writtenRanges(const std::string& path) const;
    // Mark a path changed that no command named (another name of a changed hard-linked inode).
    void touchAlias(const std::string& path) { touch(path); }
    bool isUntouched(const std::string& path) const;
    // `path` or a directory above it is in `replaced`: a new object, nothing of the parent's applies.
    bool isReplacedOrBelow(const std::string& path) const;
    bool hasChangesBelow(const std::string& dir) const;
    std::vector<std::string> displayPaths() const; // without the kernel's temporary orphan names

private:
    void touch(const std::string& path);
    void touchWithParent(const std::string& path);
    void replace(const std::string& path);
    void addWritten(const std::string& path, std::uint64_t offset, std::uint64_t length);
    bool clonesItself(const SendCommand& clone) const;
    std::set<std::string> ancestors_; // strict ancestors of every touched or replaced path
    std::string sentUuid_, parentUuid_; // of the subvolume the stream describes, and of its parent
};

ChangeSet changeSetFromStream(std::span<const std::uint8_t> wholeStream);

} // namespace sc
