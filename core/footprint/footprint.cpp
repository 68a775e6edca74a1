#include "core/footprint/footprint.h"

#include "core/base/fault_injection.h"
#include "core/footprint/footprint_walk.h"

#include <set>
#include <sys/stat.h>

namespace sc {

namespace {

bool sameSettings(const EntryStreamInfo& info, const FootprintOptions& options) {
    return info.algorithm == options.algorithm && info.features == options.features && info.format == options.format;
}

} // namespace

EntryStreamInfo recordSettingsOf(const FootprintOptions& options) {
    EntryStreamInfo settings;
    settings.algorithm = options.algorithm;
    settings.features = options.features;
    settings.format = options.format;
    return settings;
}

FootprintResult walkFootprint(const std::string& root, const FootprintOptions& options, EntrySink& sink,
                              FootprintStats* stats) {
    FootprintStats local;
    return runFootprintWalk(root, options, nullptr, nullptr, {}, sink, stats ? *stats : local);
}

ChangeSet withEveryNameOfChangedInodes(const std::string& root, const OpenEntries& previous,
                                       const ChangeSet& changes) {
    // Test builds can still make the footprints of streamchain 0.1, to show how they are found.
    if (changes.full || faultActive("footprint-one-name-per-inode"))
        return changes;
    // Inodes with several names that the diff touched, under any of their names, as they
    // were in the parent (one pass over its entries) or are now.
    std::set<std::uint64_t> linked;
    auto named = [&](const std::string& path) { return changes.touched.count(path) || changes.replaced.count(path); };
    std::string path;
    FootprintEntry entry;
    for (auto source = previous(); source->next(path, entry);)
        if (entry.type == EntryType::File && entry.nlink > 1 && named(path))
            linked.insert(entry.inode);
    auto linkedNow = [&](const std::string& changed) {
        struct stat st {};
        if (::lstat((changed.empty() ? root : root + "/" + changed).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_nlink > 1)
            linked.insert(st.st_ino);
    };
    for (const auto& changed : changes.touched)
        linkedNow(changed);
    for (const auto& changed : changes.replaced)
        linkedNow(changed);
    if (linked.empty())
        return changes;
    // Names the parent had are found in its entries; names added since were named by the diff.
    ChangeSet expanded = changes;
    for (auto source = previous(); source->next(path, entry);)
        if (entry.type == EntryType::File && linked.count(entry.inode))
            expanded.touchAlias(path);
    return expanded;
}

FootprintResult walkFootprintUpdate(const std::string& root, const std::string& parentRoot,
                                    const OpenEntries& previous, const ChangeSet& changes,
                                    const FootprintOptions& options, EntrySink& sink, FootprintStats* stats) {
    if (changes.pathsDropped) // a change too large to keep in memory: the whole tree is walked
        return walkFootprint(root, options, sink, stats);
    std::unique_ptr<EntrySource> source = previous();
    if (!sameSettings(source->info(), options))
        return walkFootprint(root, options, sink, stats);
    ChangeSet complete = withEveryNameOfChangedInodes(root, previous, changes);
    FootprintStats local;
    PreviousEntries entries(*source);
    return runFootprintWalk(root, options, &entries, &complete, parentRoot, sink, stats ? *stats : local);
}

FootprintTree computeFootprint(const std::string& root, const FootprintOptions& options, FootprintStats* stats) {
    TreeSink sink;
    FootprintResult result = walkFootprint(root, options, sink, stats);
    return sink.finish(options.algorithm, options.features, options.format, result.root);
}

FootprintTree updateFootprint(const std::string& root, const std::string& parentRoot, const FootprintTree& previous,
                              const ChangeSet& changes, const FootprintOptions& options, FootprintStats* stats) {
    TreeSink sink;
    OpenEntries open = [&previous] { return std::make_unique<TreeSource>(previous); };
    FootprintResult result = walkFootprintUpdate(root, parentRoot, open, changes, options, sink, stats);
    return sink.finish(options.algorithm, options.features, options.format, result.root);
}

} // namespace sc
