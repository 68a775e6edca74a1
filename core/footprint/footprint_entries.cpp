#include "core/footprint/footprint_entries.h"

#include "core/base/error.h"

#include <algorithm>

namespace sc {

TreeSource::TreeSource(const FootprintTree& tree) {
    info_.algorithm = tree.algorithm();
    info_.features = tree.features();
    info_.format = tree.format();
    info_.root = tree.root();
    info_.reusable = tree.reusable();
    ordered_.reserve(tree.size());
    for (const auto& item : tree.entries())
        ordered_.push_back(&item);
    std::sort(ordered_.begin(), ordered_.end(), [](auto* a, auto* b) { return walkOrderLess(a->first, b->first); });
}

bool TreeSource::next(std::string& path, FootprintEntry& entry) {
    if (at_ == ordered_.size())
        return false;
    path = ordered_[at_]->first;
    entry = ordered_[at_]->second;
    ++at_;
    return true;
}

EntrySink::Slot TreeSink::add(const std::string& path, const FootprintEntry& entry) {
    entries_.emplace_back(path, entry);
    return entries_.size() - 1;
}

void TreeSink::complete(Slot slot, const Digest& digest, std::shared_ptr<const ChunkDigests> chunks) {
    FootprintEntry& entry = entries_.at(slot).second;
    entry.digest = digest;
    entry.chunks = std::move(chunks);
}

FootprintTree TreeSink::finish(HashAlgorithm algorithm, std::uint32_t features, std::uint32_t format,
                               const Digest& root) {
    FootprintTree tree(algorithm, features, format);
    tree.setRoot(root);
    for (auto& [path, entry] : entries_)
        tree.put(path, entry);
    entries_.clear();
    return tree;
}

FootprintTree readWholeTree(EntrySource& source) {
    const EntryStreamInfo& info = source.info();
    FootprintTree tree(info.algorithm, info.features, info.format);
    tree.setRoot(info.root);
    if (!info.reusable)
        tree.markNotReusable();
    std::string path;
    FootprintEntry entry;
    while (source.next(path, entry))
        tree.put(path, entry);
    return tree;
}

MergedSource::MergedSource(std::vector<std::unique_ptr<EntrySource>> oldestFirst) {
    if (oldestFirst.empty())
        throw Error("no footprint record to read");
    info_ = oldestFirst.back()->info();
    for (auto& source : oldestFirst) {
        info_.reusable = info_.reusable && source->info().reusable;
        Head head;
        head.source = std::move(source);
        head.valid = head.source->next(head.path, head.entry);
        heads_.push_back(std::move(head));
    }
}

bool MergedSource::next(std::string& path, FootprintEntry& entry) {
    for (;;) {
        Head* newest = nullptr; // the newest source naming the first path left
        for (auto& head : heads_)
            if (head.valid && (!newest || !walkOrderLess(newest->path, head.path)))
                newest = &head;
        if (!newest)
            return false;
        path = newest->path;
        entry = newest->entry;
        for (auto& head : heads_)
            if (head.valid && head.path == path)
                head.valid = head.source->next(head.path, head.entry);
        if (entry.type != kRemovedEntry)
            return true;
    }
}

PreviousEntries::PreviousEntries(EntrySource& source) : source_(source) { advance(); }

void PreviousEntries::advance() { valid_ = source_.next(path_, entry_); }

const FootprintEntry* PreviousEntries::find(const std::string& path) {
    while (valid_ && walkOrderLess(path_, path))
        advance();
    return valid_ && path_ == path ? &entry_ : nullptr;
}

} // namespace sc
