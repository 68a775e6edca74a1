#pragma once
// The kernel's own diff between two read-only snapshots: a metadata-only
// incremental send, parsed into the set of changed paths.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/btrfs/change_set.h"

namespace sc {

// Past this many changed paths a footprint is cheaper walked whole than built on a diff
// held in memory (~250 bytes a path): the change is most of the tree anyway.
inline constexpr std::size_t kDiffPathsWorthKeeping = std::size_t{1} << 18;

// An empty parent diffs against nothing (a full, metadata-only stream).
// streamBytes, if given, receives the size of the metadata-only stream. Beyond `maxPaths`
// changed paths the set lets its paths go (ChangeSet::pathsDropped) and only counts.
ChangeSet kernelDiff(const std::string& parentSnapshot, const std::string& childSnapshot,
                     std::uint64_t* streamBytes = nullptr, std::uint32_t protocol = 2,
                     std::size_t maxPaths = SIZE_MAX);

} // namespace sc
