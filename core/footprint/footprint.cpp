#include "core/footprint/footprint.h"

#include "core/base/error.h"
#include "core/base/fault_injection.h"
#include "core/footprint/file_contents.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <dirent.h>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace sc {

namespace {

struct Node {
    std::string path;     // relative to the root, "" for the root
    std::string absolute; // for system calls
    struct stat st {};
    EntryType type = EntryType::File;
    std::vector<std::pair<std::string, std::string>> xattrs; // sorted by name
    std::string linkTarget;
    std::vector<std::pair<std::string, std::size_t>> children; // sorted (name, node index)
    bool reused = false;
    const FootprintEntry* chunkBase = nullptr; // format 2: the parent's entry whose chunks still hold
    std::shared_ptr<const ChunkDigests> chunks;
    Digest content;
    Digest digest;
};

EntryType typeOf(mode_t mode) {
    switch (mode & S_IFMT) {
    case S_IFDIR: return EntryType::Directory;
    case S_IFLNK: return EntryType::Symlink;
    case S_IFCHR: return EntryType::CharDevice;
    case S_IFBLK: return EntryType::BlockDevice;
    case S_IFIFO: return EntryType::Fifo;
    case S_IFSOCK: return EntryType::Socket;
    default: return EntryType::File;
    }
}

// A reuse guard only compares these for equality, so times past 2262 (btrfs keeps 64-bit
// seconds) wrap modulo 2^64 instead of overflowing: distinct times stay distinct within 584 years.
std::int64_t nanoseconds(const struct timespec& t) {
    auto wrapped = static_cast<std::uint64_t>(t.tv_sec) * 1000000000u + static_cast<std::uint64_t>(t.tv_nsec);
    return static_cast<std::int64_t>(wrapped);
}

class Walker {
public:
    Walker(const FootprintOptions& options, const FootprintTree* previous, const ChangeSet* changes,
           std::string parentRoot, FootprintTree& out, FootprintStats& stats)
        : options_(options), previous_(previous), changes_(changes), parentRoot_(std::move(parentRoot)), out_(out),
          stats_(stats) {}

    void run(const std::string& root) {
        struct stat st {};
        if (::lstat(root.c_str(), &st) != 0)
            throwSystemError("cannot stat " + root, errno);
        if (!S_ISDIR(st.st_mode))
            throw Error(root + " is not a directory");
        visit("", root, st);
        hashContents();
        for (std::size_t i = nodes_.size(); i-- > 0;)
            finishNode(nodes_[i]);
        Hasher hasher(options_.algorithm);
        hasher.updateSized("streamchain-footprint").updateU32(options_.format).updateU32(options_.features);
        hasher.updateDigest(nodes_[0].digest);
        out_.setRoot(hasher.finish());
    }

private:
    // The cache guard: `st` is still the object `entry` was computed from.
    static bool guardHolds(const FootprintEntry& entry, const struct stat& st) {
        return entry.type == typeOf(st.st_mode) && entry.inode == st.st_ino &&
               entry.ctimeNs == nanoseconds(st.st_ctim) && entry.mtimeNs == nanoseconds(st.st_mtim) &&
               entry.nlink == st.st_nlink &&
               (entry.type != EntryType::File || entry.size == static_cast<std::uint64_t>(st.st_size));
    }

    bool reusable(const std::string& path, const struct stat& st) const {
        if (!previous_ || !changes_ || !changes_->isUntouched(path) || changes_->hasChangesBelow(path))
            return false;
        const FootprintEntry* old = previous_->find(path);
        return old && guardHolds(*old, st);
    }

    // Format 2: the parent's entry for a changed file whose unchanged chunks may be kept.
    // Only when the path still names the same single-named inode (a rename or link
    // destination is re-hashed whole, and a hard-linked inode's writes name one of its
    // paths), and when the parent block's file still matches its entry's guard: then the
    // parent's chunks describe the bytes the kernel's diff compared against.
    const FootprintEntry* chunkBase(const std::string& path, const struct stat& st) const {
        if (options_.format != kFootprintFormatChunked || parentRoot_.empty() || !previous_ || !changes_ ||
            changes_->full || !S_ISREG(st.st_mode) || st.st_nlink != 1 || changes_->isReplacedOrBelow(path))
            return nullptr;
        const FootprintEntry* old = previous_->find(path);
        if (!old || old->type != EntryType::File || !old->chunks || old->nlink != 1 || old->inode != st.st_ino)
            return nullptr;
        struct stat parent {};
        if (::lstat((parentRoot_ + "/" + path).c_str(), &parent) != 0 || !guardHolds(*old, parent))
            return nullptr;
        return old;
    }

    std::size_t visit(const std::string& path, const std::string& absolute, const struct stat& st) {
        std::size_t index = nodes_.size();
        if (index >= options_.maxEntries)
            throw UnhashableBlock("the tree holds more than the " + std::to_string(options_.maxEntries) +
                        " entries its header declares");
        throwIfFootprintCancelled(options_.cancelled);
        nodes_.emplace_back();
        {
            Node& node = nodes_.back();
            node.path = path;
            node.absolute = absolute;
            node.st = st;
            node.type = typeOf(st.st_mode);
            node.chunkBase = chunkBase(path, st);
            if (options_.features & FeatureXattrs)
                node.xattrs = readXattrs(absolute);
            if (node.type == EntryType::Symlink) {
                std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
                ssize_t n = ::readlink(absolute.c_str(), target.data(), target.size());
                if (n < 0)
                    throwSystemError("cannot read link " + displayPath(absolute), errno);
                target.resize(static_cast<std::size_t>(n));
                node.linkTarget = std::move(target);
            }
        }
        if (nodes_[index].type != EntryType::Directory)
            return index;

        ++stats_.directoriesListed;
        std::vector<std::string> names;
        DIR* dir = ::opendir(absolute.c_str());
        if (!dir)
            throwSystemError("cannot list " + displayPath(absolute), errno);
        while (dirent* entry = ::readdir(dir)) {
            std::string name = entry->d_name;
            if (name == "." || name == "..")
                continue;
            if (path.empty() && std::find(options_.excludedRootNames.begin(), options_.excludedRootNames.end(),
                                          name) != options_.excludedRootNames.end())
                continue;
            names.push_back(std::move(name));
        }
        ::closedir(dir);
        std::sort(names.begin(), names.end());

        std::vector<std::pair<std::string, std::size_t>> children;
        for (const auto& name : names) {
            std::string childPath = path.empty() ? name : path + "/" + name;
            std::string childAbsolute = absolute + "/" + name;
            struct stat childSt {};
            if (::lstat(childAbsolute.c_str(), &childSt) != 0)
                throwSystemError("cannot stat " + displayPath(childAbsolute), errno);
            if (reusable(childPath, childSt)) {
                std::size_t reused = nodes_.size();
                nodes_.emplace_back();
                nodes_.back().path = childPath;
                nodes_.back().reused = true;
                nodes_.back().digest = previous_->find(childPath)->digest;
                out_.copySubtree(*previous_, childPath);
                ++stats_.entriesReused;
                children.emplace_back(name, reused);
            } else {
                children.emplace_back(name, visit(childPath, childAbsolute, childSt));
            }
        }
        nodes_[index].children = std::move(children);
        return index;
    }

    void hashContents() {
        std::vector<std::size_t> files;
        std::uint64_t toHash = 0;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            Node& node = nodes_[i];
            if (node.reused || node.type != EntryType::File)
                continue;
            if (static_cast<std::uint64_t>(node.st.st_size) > options_.maxFileBytes) {
                node.content = oversized(static_cast<std::uint64_t>(node.st.st_size));
                continue;
            }
            files.push_back(i);
            toHash += static_cast<std::uint64_t>(node.st.st_size);
        }
        if (toHash > options_.maxHashBytes)
            throw UnhashableBlock("the tree holds " + std::to_string(toHash) + " bytes of files to hash, more than the " +
                        std::to_string(options_.maxHashBytes) + " its header declares");
        // Largest first: a big file hashed last would leave the other threads idle.
        std::stable_sort(files.begin(), files.end(),
                         [&](std::size_t a, std::size_t b) { return nodes_[a].st.st_size > nodes_[b].st.st_size; });
        unsigned threads = options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
        threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(1, files.size())));
        std::atomic<std::size_t> next{0};
        std::atomic<std::uint64_t> bytes{0};
        std::exception_ptr failure;
        std::mutex failureMutex;
        auto work = [&] {
            std::vector<char> buffer(1 << 20);
            try {
                for (std::size_t k; (k = next.fetch_add(1)) < files.size();) {
                    Node& node = nodes_[files[k]];
                    if (options_.format == kFootprintFormatChunked) {
                        bytes += hashChunks(node, buffer);
                    } else {
                        node.content = hashWholeFile(node.absolute, options_.algorithm, buffer, options_.cancelled);
                        bytes += static_cast<std::uint64_t>(node.st.st_size);
                    }
                }
            } catch (...) {
                std::lock_guard lock(failureMutex);
                failure = std::current_exception();
                next = files.size();
            }
        };
        std::vector<std::thread> pool;
        for (unsigned t = 1; t < threads; ++t)
            pool.emplace_back(work);
        work();
        for (auto& thread : pool)
            thread.join();
        if (failure)
            std::rethrow_exception(failure);
        stats_.filesHashed += files.size();
        stats_.bytesHashed += bytes;
    }

    // Format 2: the chunk tree's root, from the chunks the diff names (and the size change)
    // when the parent's entry may be built on, else from every chunk that holds data.
    // Returns the bytes read.
    std::uint64_t hashChunks(Node& node, std::vector<char>& buffer) const {
        static const std::vector<ByteRange> none;
        const std::vector<ByteRange>* written = node.chunkBase ? changes_->writtenRanges(node.path) : nullptr;
        std::uint64_t bytesRead = 0;
        ChunkDigests chunks = hashFileChunksAt(node.absolute, options_.algorithm,
                                               node.chunkBase ? node.chunkBase->chunks.get() : nullptr,
                                               written ? *written : none, buffer, options_.cancelled, bytesRead);
        if (chunks.size != static_cast<std::uint64_t>(node.st.st_size))
            throw Error(displayPath(node.absolute) + " changed size while it was hashed");
        node.content = chunkTreeRoot(options_.algorithm, chunks);
        if (chunks.size > kFootprintChunkSize)
            node.chunks = std::make_shared<const ChunkDigests>(std::move(chunks));
        return bytesRead;
    }

    // What stands for a file too large to belong to the block: domain-separated, so no
    // content hashes to it.
    Digest oversized(std::uint64_t size) const {
        Hasher h(options_.algorithm);
        h.updateSized("streamchain-footprint: a file larger than its block may hold, not read").updateU64(size);
        return h.finish();
    }

    void finishNode(Node& node) {
        if (node.reused)
            return;
        const std::uint32_t f = options_.features;
        Hasher h(options_.algorithm);
        h.updateU8(static_cast<std::uint8_t>(node.type));
        if (f & FeatureMode)
            h.updateU32(node.st.st_mode & 07777);
        if (f & FeatureOwnership)
            h.updateU32(node.st.st_uid).updateU32(node.st.st_gid);
        if ((f & FeatureSize) && node.type == EntryType::File)
            h.updateU64(static_cast<std::uint64_t>(node.st.st_size));
        if (f & FeatureMtime)
            h.updateU64(static_cast<std::uint64_t>(node.st.st_mtim.tv_sec))
                .updateU32(static_cast<std::uint32_t>(node.st.st_mtim.tv_nsec));
        if ((f & FeatureRdev) && (node.type == EntryType::CharDevice || node.type == EntryType::BlockDevice))
            h.updateU64(node.st.st_rdev);
        if (f & FeatureXattrs) {
            h.updateU32(static_cast<std::uint32_t>(node.xattrs.size()));
            for (const auto& [name, value] : node.xattrs)
                h.updateSized(name).updateSized(value);
        }
        switch (node.type) {
        case EntryType::File:
            h.updateDigest(node.content);
            break;
        case EntryType::Symlink:
            h.updateSized(node.linkTarget);
            break;
        case EntryType::Directory: {
            h.updateU32(static_cast<std::uint32_t>(node.children.size()));
            for (const auto& [name, child] : node.children)
                h.updateSized(name).updateDigest(nodes_[child].digest);
            break;
        }
        default:
            break;
        }
        node.digest = h.finish();
        FootprintEntry entry;
        entry.type = node.type;
        entry.digest = node.digest;
        entry.size = node.type == EntryType::File ? static_cast<std::uint64_t>(node.st.st_size) : 0;
        entry.inode = node.st.st_ino;
        entry.ctimeNs = nanoseconds(node.st.st_ctim);
        entry.mtimeNs = nanoseconds(node.st.st_mtim);
        entry.nlink = static_cast<std::uint32_t>(node.st.st_nlink);
        entry.chunks = std::move(node.chunks);
        out_.put(node.path, entry);
    }

    const FootprintOptions& options_;
    const FootprintTree* previous_;
    const ChangeSet* changes_;
    const std::string parentRoot_; // the parent block, where the kernel's diff started
    FootprintTree& out_;
    FootprintStats& stats_;
    std::vector<Node> nodes_;
};

} // namespace

FootprintTree computeFootprint(const std::string& root, const FootprintOptions& options, FootprintStats* stats) {
    FootprintStats local;
    FootprintTree tree(options.algorithm, options.features, options.format);
    Walker(options, nullptr, nullptr, {}, tree, stats ? *stats : local).run(root);
    return tree;
}

ChangeSet withEveryNameOfChangedInodes(const std::string& root, const FootprintTree& previous,
                                       const ChangeSet& changes) {
    // Test builds can still make the footprints of streamchain 0.1, to show how they are found.
    if (changes.full || faultActive("footprint-one-name-per-inode"))
        return changes;
    // Inodes with several names that the diff touched, under any of their names, as they
    // were in the parent or are now.
    std::set<std::uint64_t> linked;
    auto consider = [&](const std::string& path) {
        if (const FootprintEntry* old = previous.find(path); old && old->type == EntryType::File && old->nlink > 1)
            linked.insert(old->inode);
        struct stat st {};
        if (::lstat((path.empty() ? root : root + "/" + path).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_nlink > 1)
            linked.insert(st.st_ino);
    };
    for (const auto& path : changes.touched)
        consider(path);
    for (const auto& path : changes.replaced)
        consider(path);
    if (linked.empty())
        return changes;
    // Names the parent had are found in its tree; names added since were named by the diff.
    ChangeSet expanded = changes;
    for (const auto& [path, entry] : previous.entries())
        if (entry.type == EntryType::File && linked.count(entry.inode))
            expanded.touchAlias(path);
    return expanded;
}

FootprintTree updateFootprint(const std::string& root, const std::string& parentRoot, const FootprintTree& previous,
                              const ChangeSet& changes, const FootprintOptions& options, FootprintStats* stats) {
    if (previous.algorithm() != options.algorithm || previous.features() != options.features ||
        previous.format() != options.format)
        return computeFootprint(root, options, stats);
    FootprintStats local;
    FootprintTree tree(options.algorithm, options.features, options.format);
    ChangeSet complete = withEveryNameOfChangedInodes(root, previous, changes);
    Walker(options, &previous, &complete, parentRoot, tree, stats ? *stats : local).run(root);
    return tree;
}

} // namespace sc
