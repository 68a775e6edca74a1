#include "core/ledger/block_changes.h"

#include "core/btrfs/kernel_diff.h"
#include "core/ledger/chain.h"

#include <sys/stat.h>

namespace sc {

const char* pathChangeKindName(PathChange::Kind kind) {
    switch (kind) {
    case PathChange::Kind::Added:
        return "added";
    case PathChange::Kind::Modified:
        return "modified";
    case PathChange::Kind::Deleted:
        return "deleted";
    }
    return "?";
}

static bool existsIn(const std::string& root, const std::string& relative) {
    struct stat st {};
    return ::lstat((root + "/" + relative).c_str(), &st) == 0;
}

std::vector<PathChange> blockChanges(const Chain& chain, std::uint64_t height) {
    std::string block = chain.paths().block(height);
    std::string parent = height > 0 ? chain.paths().block(height - 1) : std::string();
    ChangeSet changes = kernelDiff(parent, block);
    std::vector<PathChange> result;
    const std::string headerDir = kHeaderDirectory;
    for (const auto& path : changes.displayPaths()) {
        if (path.empty() || path == headerDir || path.rfind(headerDir + "/", 0) == 0)
            continue;
        bool now = existsIn(block, path);
        bool before = !parent.empty() && existsIn(parent, path);
        if (!now && !before)
            continue; // an intermediate name the kernel used while reordering
        result.push_back({now && before ? PathChange::Kind::Modified
                                        : (now ? PathChange::Kind::Added : PathChange::Kind::Deleted),
                          path});
    }
    return result;
}

} // namespace sc
