#include "core/footprint/footprint_walk.h"

#include "core/base/error.h"
#include "core/footprint/file_contents.h"
#include "core/footprint/hash_pool.h"
#include "core/footprint/object_digest.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <dirent.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

namespace sc {

namespace {

// At most this many files are being hashed or waiting to be: the walk pauses beyond it.
constexpr std::size_t kFilesInFlight = 4096;

// A directory met by the walk whose digest is not known yet: it waits for its listing
// to end and for every child's digest.
struct DirectoryFrame {
    ObjectMeta meta;
    EntrySink::Slot slot = 0;
    std::vector<std::pair<std::string, Digest>> children; // sorted by name
    std::size_t pending = 0;                                // children without a digest yet
    bool listed = false;
    DirectoryFrame* parent = nullptr;
    std::size_t indexInParent = 0;
};

// A regular file to hash on a worker.
struct HashJob {
    std::string absolute;
    ObjectMeta meta;
    EntrySink::Slot slot = 0;
    DirectoryFrame* parent = nullptr;
    std::size_t indexInParent = 0;
    std::shared_ptr<const ChunkDigests> base;   // format 2: the parent block's chunks that still hold
    const std::vector<ByteRange>* written = nullptr;
    Digest content;                              // results
    std::shared_ptr<const ChunkDigests> chunks;
    std::uint64_t bytesRead = 0;
    std::exception_ptr failure;
};

class Walker {
public:
    Walker(const FootprintOptions& options, PreviousEntries* previous, const ChangeSet* changes,
           std::string parentRoot, EntrySink& sink, FootprintStats& stats)
        : options_(options), previous_(previous), changes_(changes), parentRoot_(std::move(parentRoot)), sink_(sink),
          stats_(stats) {}
    ~Walker() { abort_ = true; } // the pool, destroyed next, joins its workers

    FootprintResult run(const std::string& root) {
        struct stat st {};
        if (::lstat(root.c_str(), &st) != 0)
            throwSystemError("cannot stat " + root, errno);
        if (!S_ISDIR(st.st_mode))
            throw Error(root + " is not a directory");
        unsigned threads = options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
        pool_ = std::make_unique<HashPool<HashJob>>(threads, kFilesInFlight,
                                                   [this, buffer = std::vector<char>()](HashJob& job) mutable {
                                                       hashFile(job, buffer);
                                                   });
        visitDirectory("", root, st, nullptr, 0);
        while (pool_->inFlight() > 0)
            collect(std::chrono::milliseconds(100));
        Hasher hasher(options_.algorithm);
        hasher.updateSized("streamchain-footprint").updateU32(options_.format).updateU32(options_.features);
        hasher.updateDigest(rootDigest_);
        return {hasher.finish(), counts_};
    }

private:
    bool reusable(const std::string& path, const struct stat& st) {
        if (!previous_ || !changes_ || !changes_->isUntouched(path) || changes_->hasChangesBelow(path))
            return false;
        const FootprintEntry* old = previous_->find(path);
        return old && guardHolds(*old, st);
    }

    // Format 2: the parent's chunks of a changed file, when they may be kept. Only when the
    // path still names the same single-named inode (a rename or link destination is
    // re-hashed whole, and a hard-linked inode's writes name one of its paths), and when the
    // parent block's file still matches its entry's guard: then the parent's chunks
    // describe the bytes the kernel's diff compared against.
    std::shared_ptr<const ChunkDigests> chunkBase(const std::string& path, const struct stat& st) {
        if (options_.format != kFootprintFormatChunked || parentRoot_.empty() || !previous_ || !changes_ ||
            changes_->full || !S_ISREG(st.st_mode) || st.st_nlink != 1 || changes_->isReplacedOrBelow(path))
            return nullptr;
        const FootprintEntry* old = previous_->find(path);
        if (!old || old->type != EntryType::File || !old->chunks || old->nlink != 1 || old->inode != st.st_ino)
            return nullptr;
        struct stat parent {};
        if (::lstat((parentRoot_ + "/" + path).c_str(), &parent) != 0 || !guardHolds(*old, parent))
            return nullptr;
        return old->chunks;
    }


    EntrySink::Slot record(const std::string& path, const FootprintEntry& entry) {
        if (!path.empty()) // the root is not counted
            countEntry(counts_, entry);
        return sink_.add(path, entry);
    }

    void countVisit() {
        if (entriesSeen_ >= options_.maxEntries)
            throw UnhashableBlock("the tree holds more than the " + std::to_string(options_.maxEntries) +
                                  " entries its header declares");
        ++entriesSeen_;
        throwIfFootprintCancelled(options_.cancelled);
    }

    ObjectMeta metaOf(const std::string& absolute, const struct stat& st) const {
        ObjectMeta meta;
        meta.st = st;
        meta.type = typeOf(st.st_mode);
        if (options_.features & FeatureXattrs)
            meta.xattrs = readXattrs(absolute);
        return meta;
    }

    std::vector<std::string> sortedNames(const std::string& path, const std::string& absolute) const {
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
        return names;
    }

    void visitDirectory(const std::string& path, const std::string& absolute, const struct stat& st,
                        DirectoryFrame* parent, std::size_t indexInParent) {
        countVisit();
        auto owned = std::make_unique<DirectoryFrame>();
        DirectoryFrame* frame = owned.get();
        frames_.emplace(frame, std::move(owned));
        frame->meta = metaOf(absolute, st);
        frame->parent = parent;
        frame->indexInParent = indexInParent;
        if (parent)
            ++parent->pending;
        frame->slot = record(path, entryOf(frame->meta));
        ++stats_.directoriesListed;

        std::vector<std::string> names = sortedNames(path, absolute);
        frame->children.reserve(names.size());
        for (auto& name : names) {
            std::string childPath = path.empty() ? name : path + "/" + name;
            std::string childAbsolute = absolute + "/" + name;
            const std::size_t index = frame->children.size();
            frame->children.emplace_back(std::move(name), Digest{});
            struct stat childSt {};
            if (::lstat(childAbsolute.c_str(), &childSt) != 0)
                throwSystemError("cannot stat " + displayPath(childAbsolute), errno);
            if (reusable(childPath, childSt)) {
                ++entriesSeen_;
                ++stats_.entriesReused;
                frame->children[index].second = previous_->find(childPath)->digest;
                previous_->copySubtree(childPath, [&](const std::string& p, const FootprintEntry& e) { record(p, e); });
            } else if (S_ISDIR(childSt.st_mode)) {
                visitDirectory(childPath, childAbsolute, childSt, frame, index);
            } else {
                visitLeaf(childPath, childAbsolute, childSt, *frame, index);
            }
        }
        frame->listed = true;
        finishIfDone(frame);
        collect(std::chrono::milliseconds(0));
    }

    void visitLeaf(const std::string& path, const std::string& absolute, const struct stat& st, DirectoryFrame& parent,
                   std::size_t index) {
        countVisit();
        ObjectMeta meta = metaOf(absolute, st);
        FootprintEntry entry = entryOf(meta);
        if (meta.type == EntryType::File && static_cast<std::uint64_t>(st.st_size) <= options_.maxFileBytes) {
            hashLater(path, absolute, std::move(meta), entry, parent, index);
            return;
        }
        Hasher h = startDigest(options_, meta);
        if (meta.type == EntryType::File) {
            h.updateDigest(oversized(entry.size));
        } else if (meta.type == EntryType::Symlink) {
            std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
            ssize_t n = ::readlink(absolute.c_str(), target.data(), target.size());
            if (n < 0)
                throwSystemError("cannot read link " + displayPath(absolute), errno);
            target.resize(static_cast<std::size_t>(n));
            h.updateSized(target);
        }
        entry.digest = h.finish();
        record(path, entry);
        parent.children[index].second = entry.digest;
    }

    void hashLater(const std::string& path, const std::string& absolute, ObjectMeta meta, const FootprintEntry& entry,
                   DirectoryFrame& parent, std::size_t index) {
        toHash_ += entry.size;
        if (toHash_ > options_.maxHashBytes)
            throw UnhashableBlock("the tree holds more than the " + std::to_string(options_.maxHashBytes) +
                                  " bytes of files to hash its header declares");
        auto job = std::make_unique<HashJob>();
        job->absolute = absolute;
        job->base = chunkBase(path, meta.st);
        if (job->base)
            job->written = changes_->writtenRanges(path);
        job->meta = std::move(meta);
        job->parent = &parent;
        job->indexInParent = index;
        job->slot = record(path, entry);
        ++parent.pending;
        pool_->submit(std::move(job), entry.size);
        while (pool_->full())
            collect(std::chrono::milliseconds(100));
    }

    // On a worker: the file's content digest, whole (format 1) or over its chunks (format 2).
    void hashFile(HashJob& job, std::vector<char>& buffer) const {
        try {
            if (buffer.empty())
                buffer.resize(std::size_t{1} << 20);
            const auto size = static_cast<std::uint64_t>(job.meta.st.st_size);
            if (options_.format != kFootprintFormatChunked) {
                job.content = hashWholeFile(job.absolute, options_.algorithm, buffer, &abort_);
                job.bytesRead = size;
                return;
            }
            static const std::vector<ByteRange> none;
            ChunkDigests chunks = hashFileChunksAt(job.absolute, options_.algorithm, job.base.get(),
                                                   job.written ? *job.written : none, buffer, &abort_, job.bytesRead);
            if (chunks.size != size)
                throw Error(displayPath(job.absolute) + " changed size while it was hashed");
            job.content = chunkTreeRoot(options_.algorithm, chunks);
            if (chunks.size > kFootprintChunkSize)
                job.chunks = std::make_shared<const ChunkDigests>(std::move(chunks));
        } catch (...) {
            job.failure = std::current_exception();
        }
    }

    // Takes the files hashed so far, waiting up to `patience` for one.
    void collect(std::chrono::milliseconds patience) {
        throwIfFootprintCancelled(options_.cancelled);
        for (auto& job : pool_->takeFinished(patience)) {
            if (job->failure)
                std::rethrow_exception(job->failure);
            Hasher h = startDigest(options_, job->meta);
            h.updateDigest(job->content);
            Digest digest = h.finish();
            sink_.complete(job->slot, digest, std::move(job->chunks));
            ++stats_.filesHashed;
            stats_.bytesHashed += job->bytesRead;
            childDone(job->parent, job->indexInParent, digest);
        }
    }

    void childDone(DirectoryFrame* parent, std::size_t index, const Digest& digest) {
        parent->children[index].second = digest;
        --parent->pending;
        finishIfDone(parent);
    }

    // A directory whose listing ended and whose children all have digests gets its own,
    // and may complete its parent in turn.
    void finishIfDone(DirectoryFrame* frame) {
        if (!frame->listed || frame->pending > 0)
            return;
        Hasher h = startDigest(options_, frame->meta);
        h.updateU32(static_cast<std::uint32_t>(frame->children.size()));
        for (const auto& [name, digest] : frame->children)
            h.updateSized(name).updateDigest(digest);
        Digest digest = h.finish();
        sink_.complete(frame->slot, digest, nullptr);
        DirectoryFrame* parent = frame->parent;
        std::size_t index = frame->indexInParent;
        frames_.erase(frame);
        if (parent)
            childDone(parent, index, digest);
        else
            rootDigest_ = digest;
    }

    // What stands for a file too large to belong to the block: domain-separated, so no
    // content hashes to it.
    Digest oversized(std::uint64_t size) const {
        Hasher h(options_.algorithm);
        h.updateSized("streamchain-footprint: a file larger than its block may hold, not read").updateU64(size);
        return h.finish();
    }

    const FootprintOptions& options_;
    PreviousEntries* previous_;
    const ChangeSet* changes_;
    const std::string parentRoot_; // the parent block, where the kernel's diff started
    EntrySink& sink_;
    FootprintStats& stats_;
    std::unordered_map<DirectoryFrame*, std::unique_ptr<DirectoryFrame>> frames_;
    FootprintCounts counts_;
    Digest rootDigest_;
    std::uint64_t entriesSeen_ = 0, toHash_ = 0;
    std::atomic<bool> abort_{false};
    std::unique_ptr<HashPool<HashJob>> pool_; // last: its workers go before what they use
};

} // namespace

FootprintResult runFootprintWalk(const std::string& root, const FootprintOptions& options, PreviousEntries* previous,
                                 const ChangeSet* changes, const std::string& parentRoot, EntrySink& sink,
                                 FootprintStats& stats) {
    return Walker(options, previous, changes, parentRoot, sink, stats).run(root);
}

} // namespace sc
