#pragma once
// The kernel's own diff between two read-only snapshots: a metadata-only
// incremental send, parsed into the set of changed paths.
#include <cstdint>
#include <string>
#include <vector>

#include "core/change_set.h"

namespace sc {

// An empty parent diffs against nothing (a full, metadata-only stream).
// streamBytes, if given, receives the size of the metadata-only stream.
ChangeSet kernelDiff(const std::string& parentSnapshot, const std::string& childSnapshot,
                     std::uint64_t* streamBytes = nullptr, std::uint32_t protocol = 2);

} // namespace sc

namespace sc {

class Chain;

struct PathChange {
    enum class Kind { Added, Modified, Deleted } kind;
    std::string path; // raw bytes, relative to the block root
};
const char* pathChangeKindName(PathChange::Kind kind); // "added", "modified", "deleted"

// What changed from the parent block to this one, per the kernel's diff. The
// header directory is left out; for the genesis block everything is "added".
std::vector<PathChange> blockChanges(const Chain& chain, std::uint64_t height);

} // namespace sc
