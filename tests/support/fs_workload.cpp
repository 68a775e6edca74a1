#include "tests/support/fs_workload.h"

#include <algorithm>
#include <sys/stat.h>
#include <unistd.h>

namespace sctest {

namespace {

// Bigger files than any write makes are sparse: count them as a little data.
constexpr std::uint64_t kDenseLimit = 8ull << 20;
constexpr std::size_t kThinTree = 40;

} // namespace

FsWorkload::FsWorkload(std::string root, std::uint64_t seed, FsWorkloadOptions options)
    : context_(std::move(root), seed, options) {
    for (auto group : {contentOperations, chunkOperations, metadataOperations, namespaceOperations})
        for (const auto& operation : group())
            operations_.push_back(operation);
    if (options.hardLinks)
        for (const auto& operation : hardLinkOperations())
            operations_.push_back(operation);
}

std::vector<std::string> FsWorkload::operationNames() const {
    std::vector<std::string> names;
    for (const auto& operation : operations_)
        if (std::find(names.begin(), names.end(), operation.name) == names.end())
            names.push_back(operation.name);
    return names;
}

std::size_t FsWorkload::deal() {
    if (deck_.empty()) {
        for (std::size_t i = 0; i < operations_.size(); ++i)
            deck_.push_back(i);
        for (std::size_t i = deck_.size(); i > 1; --i) // Fisher-Yates with our own engine
            std::swap(deck_[i - 1], deck_[context_.below(i)]);
    }
    std::size_t next = deck_.back();
    deck_.pop_back();
    return next;
}

std::vector<std::string> FsWorkload::applyRound(std::size_t operations, bool withHugeSparseFile) {
    context_.changed();
    keepWithinBudget();
    replenish();
    keepFilesSpanningChunks(context_);
    std::size_t hugeAt = withHugeSparseFile ? context_.below(operations + 1) : operations + 1;
    for (std::size_t i = 0; i <= operations; ++i) {
        context_.changed();
        if (i == hugeAt) {
            context_.note("[huge-sparse-write]");
            writeHugeSparseFile(context_);
            ++counts_["huge-sparse-write"];
            context_.changed();
        }
        if (i == operations)
            break;
        const WorkloadOperation& operation = operations_[deal()];
        context_.note(std::string("[") + operation.name + "]");
        operation.apply(context_);
        ++counts_[operation.name];
    }
    context_.changed();
    return context_.takeLog();
}

void FsWorkload::keepWithinBudget() {
    const FsWorkloadOptions& options = context_.options();
    while (true) {
        const auto& tree = context_.tree();
        std::uint64_t data = 0, apparent = 0;
        const FsEntry* largest = nullptr;
        for (const auto& entry : tree) {
            if (!entry.isFile())
                continue;
            data += std::min(entry.size, kDenseLimit);
            apparent += entry.size;
            if (!largest || entry.size > largest->size)
                largest = &entry;
        }
        if (tree.size() > options.entryBudget) {
            auto dir = context_.pick([](const FsEntry& e) { return !e.path.empty() && e.isDirectory(); });
            if (!dir || !context_.check(removeTree(context_.absolute(dir->path)),
                           "[budget] too many entries (" + std::to_string(tree.size()) + "): delete subtree " +
                               quotedPath(dir->path)))
                break;
        } else if (largest && (data > options.dataBudget || apparent > options.apparentBudget)) {
            std::string path = largest->path;
            bool sparse = largest->size > kDenseLimit;
            std::string why = "[budget] " + std::to_string(data) + " data / " + std::to_string(apparent) +
                              " apparent bytes: ";
            bool trimmed = sparse ? context_.check(::truncate(context_.absolute(path).c_str(), 4096) == 0,
                                                   why + "truncate " + quotedPath(path) + " from " +
                                                       describeBytes(largest->size) + " to 4096")
                                  : context_.check(::unlink(context_.absolute(path).c_str()) == 0,
                                                   why + "delete " + quotedPath(path));
            if (!trimmed)
                break;
        } else {
            break;
        }
        context_.changed();
    }
}

void FsWorkload::replenish() {
    if (context_.tree().size() > kThinTree)
        return;
    std::string dir = context_.newDirectoryPath();
    context_.note("[replenish] the tree holds " + std::to_string(context_.tree().size()) + " entries");
    if (!context_.create(dir, S_IFDIR))
        return;
    static const mode_t kMix[] = {S_IFREG, S_IFREG, S_IFREG, S_IFREG, S_IFDIR,  S_IFDIR,
                                  S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK};
    std::vector<std::string> dirs{dir};
    for (std::size_t i = 0; i < 30; ++i) {
        std::string path = context_.newPathIn(context_.oneOf(dirs));
        mode_t type = kMix[context_.below(std::size(kMix))];
        if (context_.create(path, type) && type == S_IFDIR)
            dirs.push_back(path);
    }
}

} // namespace sctest
