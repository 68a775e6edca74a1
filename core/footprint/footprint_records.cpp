#include "core/footprint/footprint_records.h"

#include "core/base/error.h"
#include "core/base/height_names.h"

#include <filesystem>

namespace sc {

// In a delta record, an entry of this type marks a path removed since the parent.
static constexpr auto kRemoved = static_cast<EntryType>(0);

FootprintRecords::FootprintRecords(std::string directory) : directory_(std::move(directory)) {}

std::string FootprintRecords::fullFile(std::uint64_t height) const {
    return directory_ + "/" + heightName(height) + ".fp";
}

std::string FootprintRecords::deltaFile(std::uint64_t height) const {
    return directory_ + "/" + heightName(height) + ".fpd";
}

void FootprintRecords::save(std::uint64_t height, const FootprintTree& tree, const FootprintTree* parent) const {
    if (!parent || height % kCheckpointInterval == 0) {
        tree.save(fullFile(height));
        return;
    }
    FootprintTree delta(tree.algorithm(), tree.features(), tree.format());
    delta.setRoot(tree.root());
    for (const auto& [path, entry] : tree.entries()) {
        const FootprintEntry* old = parent->find(path);
        if (!old || !(old->digest == entry.digest) || old->inode != entry.inode || old->ctimeNs != entry.ctimeNs ||
            old->mtimeNs != entry.mtimeNs || old->nlink != entry.nlink || old->type != entry.type)
            delta.put(path, entry);
    }
    for (const auto& [path, entry] : parent->entries())
        if (!tree.find(path)) {
            FootprintEntry removed;
            removed.type = kRemoved;
            delta.put(path, removed);
        }
    delta.save(deltaFile(height));
}

std::optional<FootprintTree> FootprintRecords::loadReusable(std::uint64_t height) const {
    std::optional<FootprintTree> tree = load(height);
    if (tree && !tree->reusable())
        return std::nullopt;
    return tree;
}

std::optional<FootprintTree> FootprintRecords::load(std::uint64_t height) const {
    try {
        if (std::filesystem::exists(fullFile(height)))
            return FootprintTree::load(fullFile(height));
        if (height == 0 || !std::filesystem::exists(deltaFile(height)))
            return std::nullopt;
        std::optional<FootprintTree> tree = load(height - 1);
        if (!tree)
            return std::nullopt;
        FootprintTree delta = FootprintTree::load(deltaFile(height));
        if (!delta.reusable())
            tree->markNotReusable();
        for (const auto& [path, entry] : delta.entries()) {
            if (entry.type == kRemoved)
                tree->erase(path);
            else
                tree->put(path, entry);
        }
        tree->setRoot(delta.root());
        return tree;
    } catch (const Error&) {
        return std::nullopt; // a damaged record costs a full hash or unnamed paths, never a wrong answer
    }
}

} // namespace sc
