#pragma once
// What a block changed, path by path: the kernel's diff between the block and its
// parent, in the operator's terms (added, modified, deleted).
#include <cstdint>
#include <string>
#include <vector>

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
