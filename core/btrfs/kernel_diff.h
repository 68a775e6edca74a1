#pragma once
// The kernel's own diff between two read-only snapshots: a metadata-only
// incremental send, parsed into the set of changed paths.
#include <cstdint>
#include <string>
#include <vector>

#include "core/btrfs/change_set.h"

namespace sc {

// An empty parent diffs against nothing (a full, metadata-only stream).
// streamBytes, if given, receives the size of the metadata-only stream.
ChangeSet kernelDiff(const std::string& parentSnapshot, const std::string& childSnapshot,
                     std::uint64_t* streamBytes = nullptr, std::uint32_t protocol = 2);

} // namespace sc
