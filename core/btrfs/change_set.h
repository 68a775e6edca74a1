#pragma once
// What changed between two snapshots, from the kernel's metadata-only
// incremental send: the paths whose footprint must be recomputed.
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/base/byte_range.h"
#include "core/btrfs/send_stream_parser.h"

namespace sc {

struct ChangeSet {
    std::set<std::string> touched;  // content, metadata or listing of this path changed ("" = root)
    std::set<std::string> replaced; // a new object was put here: nothing below may be reused
    bool full = false;              // a full stream: everything is new
    std::uint64_t dataBytes = 0;    // file bytes a real stream carries (WRITE / UPDATE_EXTENT lengths)
    std::uint64_t commands = 0;

    void add(const SendCommand& command);
    // Mark a path changed that no command named (another name of a changed hard-linked inode).
    void touchAlias(const std::string& path) { touch(path); }
    bool isUntouched(const std::string& path) const;
    bool hasChangesBelow(const std::string& dir) const;
    const std::vector<ByteRange>* writtenRanges(const std::string& path) const; // TEMP until s14-ranges
    std::vector<std::string> displayPaths() const; // without the kernel's temporary orphan names

private:
    void touch(const std::string& path);
    void touchWithParent(const std::string& path);
    void replace(const std::string& path);
    std::set<std::string> ancestors_; // strict ancestors of every touched or replaced path
};

ChangeSet changeSetFromStream(std::span<const std::uint8_t> wholeStream);

} // namespace sc
