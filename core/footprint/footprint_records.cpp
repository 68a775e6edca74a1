#include "core/footprint/footprint_records.h"

#include "core/base/error.h"
#include "core/base/height_names.h"

#include <filesystem>
#include <vector>

namespace sc {

namespace {

bool sameRecordEntry(const FootprintEntry& a, const FootprintEntry& b) {
    return a.digest == b.digest && a.inode == b.inode && a.ctimeNs == b.ctimeNs && a.mtimeNs == b.mtimeNs &&
           a.nlink == b.nlink && a.type == b.type;
}

// What changed from `parent` to `tree`, both in walk order: new and changed entries, and
// a removal marker for each path gone.
void writeDelta(EntrySource& parent, EntrySource& tree, EntrySink& delta) {
    std::string oldPath, newPath;
    FootprintEntry oldEntry, newEntry;
    bool oldValid = parent.next(oldPath, oldEntry);
    bool newValid = tree.next(newPath, newEntry);
    while (oldValid || newValid) {
        if (newValid && (!oldValid || walkOrderLess(newPath, oldPath))) {
            delta.add(newPath, newEntry);
            newValid = tree.next(newPath, newEntry);
        } else if (oldValid && (!newValid || walkOrderLess(oldPath, newPath))) {
            FootprintEntry removed;
            removed.type = kRemovedEntry;
            delta.add(oldPath, removed);
            oldValid = parent.next(oldPath, oldEntry);
        } else {
            if (!sameRecordEntry(oldEntry, newEntry))
                delta.add(newPath, newEntry);
            oldValid = parent.next(oldPath, oldEntry);
            newValid = tree.next(newPath, newEntry);
        }
    }
}

} // namespace

FootprintRecords::FootprintRecords(std::string directory) : directory_(std::move(directory)) {}

std::string FootprintRecords::fullFile(std::uint64_t height) const {
    return directory_ + "/" + heightName(height) + ".fp";
}

std::string FootprintRecords::deltaFile(std::uint64_t height) const {
    return directory_ + "/" + heightName(height) + ".fpd";
}

std::unique_ptr<RecordFileWriter> FootprintRecords::startRecord(std::uint64_t height,
                                                                const EntryStreamInfo& settings) const {
    return std::make_unique<RecordFileWriter>(fullFile(height), settings);
}

void FootprintRecords::keep(std::uint64_t height, RecordFileWriter& finished, bool againstParent) const {
    finished.throwIfFailed();
    std::unique_ptr<EntrySource> parent;
    if (againstParent && height > 0 && height % kCheckpointInterval != 0)
        parent = open(height - 1);
    if (!parent) {
        finished.keep();
        std::filesystem::remove(deltaFile(height));
        return;
    }
    std::unique_ptr<EntrySource> tree = openRecordFile(finished.temporaryPath());
    RecordFileWriter delta(deltaFile(height), tree->info());
    writeDelta(*parent, *tree, delta);
    delta.finish(tree->info().root);
    delta.keep();
    std::filesystem::remove(fullFile(height));
}

void FootprintRecords::save(std::uint64_t height, const FootprintTree& tree, bool againstParent) const {
    TreeSource source(tree);
    std::unique_ptr<RecordFileWriter> writer = startRecord(height, source.info());
    std::string path;
    FootprintEntry entry;
    while (source.next(path, entry))
        writer->add(path, entry);
    writer->finish(tree.root());
    keep(height, *writer, againstParent);
}

void FootprintRecords::removeUnfinished() const {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(directory_, ec))
        if (entry.path().filename().string().find(".tmp-") != std::string::npos)
            std::filesystem::remove(entry.path(), ec);
}

std::unique_ptr<EntrySource> FootprintRecords::open(std::uint64_t height) const {
    try {
        std::vector<std::unique_ptr<EntrySource>> newestFirst;
        for (std::uint64_t h = height;; --h) {
            if (std::filesystem::exists(fullFile(h))) {
                newestFirst.push_back(openRecordFile(fullFile(h)));
                break;
            }
            if (h == 0 || height - h >= kCheckpointInterval || !std::filesystem::exists(deltaFile(h)))
                return nullptr;
            newestFirst.push_back(openRecordFile(deltaFile(h)));
        }
        if (newestFirst.size() == 1)
            return std::move(newestFirst.front());
        return std::make_unique<MergedSource>(
            std::vector<std::unique_ptr<EntrySource>>(std::make_move_iterator(newestFirst.rbegin()),
                                                      std::make_move_iterator(newestFirst.rend())));
    } catch (const Error&) {
        return nullptr; // a damaged record costs a full hash or unnamed paths, never a wrong answer
    }
}

std::unique_ptr<EntrySource> FootprintRecords::openReusable(std::uint64_t height) const {
    std::unique_ptr<EntrySource> source = open(height);
    if (source && !source->info().reusable)
        return nullptr;
    return source;
}

OpenEntries FootprintRecords::reopening(std::uint64_t height, std::unique_ptr<EntrySource> opened) const {
    auto first = std::make_shared<std::unique_ptr<EntrySource>>(std::move(opened));
    return [this, height, first]() -> std::unique_ptr<EntrySource> {
        if (*first)
            return std::move(*first);
        std::unique_ptr<EntrySource> source = openReusable(height);
        if (!source)
            throw Error("the footprint record of block " + std::to_string(height) + " went away");
        return source;
    };
}

std::optional<FootprintTree> FootprintRecords::load(std::uint64_t height) const {
    try {
        std::unique_ptr<EntrySource> source = open(height);
        if (!source)
            return std::nullopt;
        return readWholeTree(*source);
    } catch (const Error&) {
        return std::nullopt;
    }
}

} // namespace sc
