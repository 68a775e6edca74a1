#pragma once
// One walk over a tree, the engine behind footprint.h: directories listed depth first
// with byte-sorted names, each entry handed to the sink as it is met, files hashed on a
// pool (largest first, at most 4096 in flight), a directory's digest made once every
// child has one. With `previous` and `changes`, an untouched entry whose cache guard
// holds is copied from the previous record with everything below it.
#include <string>

#include "core/btrfs/change_set.h"
#include "core/footprint/footprint.h"
#include "core/footprint/footprint_entries.h"

namespace sc {

FootprintResult runFootprintWalk(const std::string& root, const FootprintOptions& options, PreviousEntries* previous,
                                 const ChangeSet* changes, const std::string& parentRoot, EntrySink& sink,
                                 FootprintStats& stats);

} // namespace sc
