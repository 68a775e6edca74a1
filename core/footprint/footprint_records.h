#pragma once
// The footprint tree of every block, kept beside the chain so deep verification can
// name the paths that differ in any block, and the next commit can re-hash only
// what changed. Most records are deltas against the parent block's tree; every
// kCheckpointInterval-th one is complete, so loading costs a bounded replay.
#include <cstdint>
#include <optional>
#include <string>

#include "core/footprint/footprint_tree.h"

namespace sc {

class FootprintRecords {
public:
    static constexpr std::uint64_t kCheckpointInterval = 32;

    explicit FootprintRecords(std::string directory);
    // `parent` is the tree of height - 1 when the caller has it (else a full record is written).
    void save(std::uint64_t height, const FootprintTree& tree, const FootprintTree* parent) const;
    // The tree of `height`, or nothing when its records are missing or damaged.
    std::optional<FootprintTree> load(std::uint64_t height) const;
    // The same, only if it is fit to build the next footprint on (see FootprintTree::reusable).
    std::optional<FootprintTree> loadReusable(std::uint64_t height) const;

private:
    std::string fullFile(std::uint64_t height) const;
    std::string deltaFile(std::uint64_t height) const;
    std::string directory_;
};

} // namespace sc
