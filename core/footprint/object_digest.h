#pragma once
// One object's part of a footprint: the entry a record keeps for it, the cache guard that
// lets a later walk reuse that entry, and the start of its digest (type and the metadata
// the chain's features cover), to which the caller adds the payload: a file's content
// digest, a link's target or a directory's listing.
#include <cstdint>
#include <string>
#include <sys/stat.h>
#include <utility>
#include <vector>

#include "core/base/hash.h"
#include "core/footprint/footprint.h"

namespace sc {

EntryType typeOf(mode_t mode);

// The cache guard: `st` is still the object `entry` was computed from.
bool guardHolds(const FootprintEntry& entry, const struct stat& st);

// What an entry's digest covers besides its payload.
struct ObjectMeta {
    struct stat st {};
    EntryType type = EntryType::File;
    std::vector<std::pair<std::string, std::string>> xattrs; // sorted by name
};

// The entry a walk records for an object; its digest (and chunks) may follow.
FootprintEntry entryOf(const ObjectMeta& meta);

Hasher startDigest(const FootprintOptions& options, const ObjectMeta& meta);

} // namespace sc
