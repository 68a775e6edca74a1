#include "core/replica/block_receiver.h"

#include "core/base/error.h"
#include "core/base/fault_injection.h"
#include "core/base/file_io.h"
#include "core/base/hash.h"
#include "core/base/height_names.h"
#include "core/footprint/footprint.h"
#include "core/footprint/footprint_records.h"
#include "core/ledger/chain.h"
#include "core/replica/receive_feed.h"
#include "core/stream/fan_out.h"

#include <cerrno>
#include <map>
#include <set>
#include <sstream>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <filesystem>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sc {

namespace {
// Receive echoes what it choked on (a 64 KiB xattr value, say): keep messages to a line.
std::string clipped(const std::string& text) {
    constexpr std::size_t kKeep = 240;
    return text.size() <= 2 * kKeep ? text : text.substr(0, kKeep) + " […] " + text.substr(text.size() - kKeep);
}
// How receive ended, without the "Chroot to …" line it prints on every start: that is
// where it ran, not why it failed.
std::string receiveFailure(ProcessResult result) {
    std::istringstream lines(result.errors);
    std::string kept;
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("Chroot to ", 0) != 0)
            kept += (kept.empty() ? "" : "\n") + line;
    result.errors = kept;
    return result.describe();
}
constexpr std::size_t kFeedQueueChunks = 16; // chunks of up to 1 MiB between the network and receive
} // namespace

BlockReceiver::BlockReceiver(const LocalReplica& replica, const ChainIdentity& binding,
                             std::vector<IncomingBlock> blocks, SpoolOptions spool,
                             std::optional<TransferChecksum> checksum, ReceiveLimits limits)
    : replica_(replica), binding_(binding), blocks_(std::move(blocks)), spool_(std::move(spool)),
      spoolWindow_(spool_.stopAboveBytesPerSecond), checksum_(checksum), limits_(limits) {
    if (blocks_.empty())
        throw Error(replica_.label() + ": a receive must announce at least one block");
    checkAnnounced();
    std::vector<GatedBlock> gated = gatedBlocks();
    const std::uint64_t maxXattr = btrfs::maxXattrBytes(replica_.blocksDir());
    stagingDir_ = replica_.stagingDir() + "/" + heightName(blocks_.front().height) + "-" + randomHex(4);
    std::error_code ec;
    fs::create_directories(stagingDir_, ec);
    if (ec)
        throw Error(replica_.label() + ": cannot create staging " + stagingDir_ + ": " + ec.message());
    std::uint64_t replay = 0;
    if (!spool_.file.empty()) {
        spoolFd_.reset(::open(spool_.file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (!spoolFd_)
            throwSystemError(replica_.label() + ": cannot open spool " + spool_.file, errno);
        struct stat st {};
        ::fstat(spoolFd_.get(), &st);
        replay = std::min<std::uint64_t>(spool_.resumeFrom, static_cast<std::uint64_t>(st.st_size));
        if (::ftruncate(spoolFd_.get(), static_cast<off_t>(replay)) != 0)
            throwSystemError(replica_.label() + ": cannot trim spool " + spool_.file, errno);
    }
    // --chroot confines what a crafted stream could touch to the staging directory.
    receive_ = std::make_unique<Subprocess>(std::vector<std::string>{"btrfs", "receive", "-q", "-C", stagingDir_},
                                            Subprocess::Options{.pipeStdin = true, .pipeStdout = false,
                                                                .workingDirectory = {}});
    // A deep pipe and a feeding thread of its own keep btrfs receive busy while the
    // caller waits for the network.
    ::fcntl(receive_->stdinFd(), F_SETPIPE_SZ, kStreamPipeBytes);
    StreamGate::Hooks hooks{[this](std::size_t index) { return parentCopyUuid(index); },
                            [this](std::size_t index) { return cloneFromParent(index); }};
    input_ = std::make_unique<ReceiveFeed>(receive_->stdinFd(), checksum_, std::move(gated),
                                            std::move(hooks), maxXattr);
    watchdog_ = std::make_unique<ReceiveWatchdog>(receive_->pid(), *input_, limits_);
    feeder_ = std::make_unique<FanOut>(std::vector<StreamSink*>{input_.get()}, kFeedQueueChunks);
    // Bytes that arrived before a broken transfer: replay them from the spool.
    try {
        std::vector<std::uint8_t> buffer(1 << 20);
        for (std::uint64_t done = 0; done < replay;) {
            ssize_t n = ::pread(spoolFd_.get(), buffer.data(), std::min<std::uint64_t>(buffer.size(), replay - done),
                                static_cast<off_t>(done));
            if (n <= 0)
                throwSystemError(replica_.label() + ": cannot read spool " + spool_.file, n < 0 ? errno : EIO);
            feed(std::make_shared<const std::string>(reinterpret_cast<const char*>(buffer.data()),
                                                     static_cast<std::size_t>(n)));
            done += static_cast<std::uint64_t>(n);
        }
    } catch (...) {
        abort(true);
        spoolFd_.reset();
        throw;
    }
    if (spoolFd_) {
        ::lseek(spoolFd_.get(), 0, SEEK_END);
        spooling_ = true;
    }
}

BlockReceiver::~BlockReceiver() {
    if (receive_)
        abort(!spool_.file.empty());
    spoolFd_.reset();
}

std::string BlockReceiver::where(const IncomingBlock& block) const {
    return "block " + std::to_string(block.height) + " on " + replica_.label();
}

void BlockReceiver::checkAnnounced() const {
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
        const IncomingBlock& block = blocks_[i];
        const BlockHeader& header = block.header;
        if (header.chainId != binding_.id)
            throw Error(where(block) + ": announced header belongs to chain " + header.chainId + ", not " + binding_.id);
        if (header.height != block.height)
            throw Error(where(block) + ": announced header is for height " + std::to_string(header.height));
        if (std::string mismatch = footprintSettingsMismatch(header, binding_); !mismatch.empty())
            throw Error(where(block) + ": announced " + mismatch);
        if (!header.signatureValid(binding_.publicKey))
            throw Error(where(block) + ": announced header signature does not verify with the pinned key; refusing "
                                       "to receive");
        if (i > 0 && header.previous != blocks_[i - 1].header.hash().hex())
            throw Error(where(block) + ": announced header does not link to block " +
                        std::to_string(blocks_[i - 1].height));
        if (fs::exists(fs::symlink_status(replica_.blockPath(block.height))))
            throw Error(where(block) + ": " + replica_.blockPath(block.height) + " already exists");
        bool parentInStream = i > 0 && block.parent && *block.parent == blocks_[i - 1].height;
        if (block.parent && !parentInStream) {
            std::string parentPath = replica_.blockPath(*block.parent);
            if (!btrfs::isSubvolume(parentPath) || btrfs::isNullUuid(btrfs::subvolumeInfo(parentPath).receivedUuid))
                throw Error(where(block) + ": parent block " + std::to_string(*block.parent) + " is not on the replica");
            if (*block.parent + 1 == block.height && readBlockHeader(parentPath).hash().hex() != header.previous)
                throw Error(where(block) + ": announced header does not link to the replica's block " +
                            std::to_string(*block.parent));
        }
    }
}

std::vector<GatedBlock> BlockReceiver::gatedBlocks() {
    std::vector<GatedBlock> gated;
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
        const IncomingBlock& block = blocks_[i];
        const FootprintCounts& counts = block.header.counts;
        const std::uint64_t entries = counts.entries();
        GatedBlock g;
        g.height = block.height;
        g.uuid = block.uuid;
        // The header file is not among the counts; a stream also writes it.
        g.maxFileBytes = counts.bytes + kMaxHeaderBytes;
        g.maxNewNames = entries + 2 + 16;
        g.maxCommands = 64 * (entries + 2) + 2 * (counts.bytes / 4096) + 4096;
        // File data, and room for each entry's names, metadata and xattrs (the spool too is bounded so).
        maxStreamBytes_ += counts.bytes + kMaxHeaderBytes + (64u << 10) * (entries + 2) + (1u << 20);
        std::optional<ParentCopy> parent;
        if (block.parent) {
            parent.emplace();
            parent->inStream = i > 0 && *block.parent == blocks_[i - 1].height;
            if (parent->inStream) {
                parent->primaryUuid = blocks_[i - 1].uuid;
            } else {
                // Named as the primary named it when this replica received it: our disk says which.
                btrfs::SubvolumeInfo info = btrfs::subvolumeInfo(replica_.blockPath(*block.parent));
                parent->primaryUuid = info.receivedUuid;
                parent->ownUuid = info.uuid;
                parent->subvolumeId = info.id;
            }
            g.parentUuid = parent->primaryUuid;
        }
        parents_.push_back(parent);
        gated.push_back(g);
    }
    return gated;
}

void BlockReceiver::waitForSubvolume(const std::string& path) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limits_.stallSeconds);
    while (!btrfs::isSubvolume(path)) {
        if (!watchdog_->receiveRunning() || std::chrono::steady_clock::now() > deadline)
            throw Error("btrfs receive did not create " + path);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

// Called on the feeding thread when the stream's SNAPSHOT for block `index` arrives.
btrfs::Uuid BlockReceiver::parentCopyUuid(std::size_t index) {
    ParentCopy& parent = *parents_.at(index);
    if (parent.inStream) {
        std::string staged = stagingDir_ + "/" + heightName(blocks_[index - 1].height);
        waitForSubvolume(staged);
        btrfs::SubvolumeInfo info = btrfs::subvolumeInfo(staged);
        parent.ownUuid = info.uuid;
        parent.subvolumeId = info.id;
    }
    return parent.ownUuid;
}

// btrfs receive (6.2) finds a clone source only by received UUID, taking the first
// subvolume the filesystem lists with it: another replica of this chain on the same
// filesystem, say. Then the gate writes the bytes itself, read from our own copy.
std::optional<std::string> BlockReceiver::cloneFromParent(std::size_t index) {
    const ParentCopy& parent = *parents_.at(index);
    if (parent.inStream) // receive seals the parent (sets its received UUID) as it starts this block
        waitForSubvolume(stagingDir_ + "/" + heightName(blocks_[index].height));
    std::optional<std::uint64_t> first = btrfs::firstSubvolumeReceivedAs(replica_.root(), parent.primaryUuid);
    if (first && *first == parent.subvolumeId)
        return std::nullopt;
    return parent.inStream ? stagingDir_ + "/" + heightName(blocks_[index - 1].height)
                           : replica_.blockPath(*blocks_[index].parent);
}

void BlockReceiver::checkStagingHoldsOnlyTheBlocks() const {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(stagingDir_, ec)) {
        std::string name = entry.path().filename().string();
        bool announced = false;
        for (const auto& block : blocks_)
            announced = announced || name == heightName(block.height);
        if (!announced)
            throw Error(where(blocks_.front()) + ": the stream left " + displayPath(name) +
                        " in staging, which no announced block is");
    }
}

void BlockReceiver::feed(std::shared_ptr<const std::string> raw) {
    bytes_ += raw->size();
    feeder_->push(std::move(raw));
}

void BlockReceiver::spool(std::span<const std::uint8_t> raw) {
    if (!spooling_)
        return;
    if (!spoolWindow_.keepSpooling(raw.size(), SpoolWindow::Clock::now())) {
        spooling_ = false; // the prefix written so far stays usable for a resume
        return;
    }
    writeAll(spoolFd_.get(), raw.data(), raw.size(),
             replica_.label() + ": cannot write spool " + spool_.file);
}

void BlockReceiver::write(std::span<const std::uint8_t> raw) {
    write(std::string(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

void BlockReceiver::write(std::string&& raw) {
    if (!receive_)
        throw Error(replica_.label() + ": receive is not running");
    if (raw.size() > maxStreamBytes_ - bytes_)
        throw Error(where(blocks_.front()) + ": the stream is larger than its announced blocks can be (over " +
                    std::to_string(maxStreamBytes_) + " bytes); refusing the rest");
    auto arrived = SpoolWindow::Clock::now();
    spool(std::span(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));
    feed(std::make_shared<const std::string>(std::move(raw)));
    spoolWindow_.heldUp(SpoolWindow::Clock::now() - arrived);
}

std::vector<std::uint64_t> BlockReceiver::finish(std::optional<std::uint64_t> rawBytes,
                                                 const std::string& rawChecksumHex) {
    feeder_->finish();
    receive_->closeStdin();
    watchdog_->streamEnded();
    ProcessResult result = receive_->wait();
    watchdog_->stop();
    receive_.reset();
    auto discard = [&] { abort(false); };
    // The digest first: a stream corrupted in transit also upsets btrfs receive, but
    // the operator needs to hear that the transfer, not the replica, was at fault.
    if (!rawChecksumHex.empty() && rawChecksumHex != input_->digestHex()) {
        discard();
        throw Error(where(blocks_.front()) + ": stream digest mismatch (" +
                    std::string(transferChecksumName(checksum_.value_or(TransferChecksum::Sha256))) +
                    "; corrupted in transit); nothing published");
    }
    if (!input_->refusal().empty()) {
        discard();
        throw Error(where(blocks_.front()) + ": " + input_->refusal() + "; nothing published");
    }
    if (std::string stopped = watchdog_->reason(); !stopped.empty()) {
        discard();
        throw Error(where(blocks_.front()) + ": " + stopped + "; stopped it, nothing published");
    }
    // A receiver that died mid-stream tells why itself (e.g. no space left, bad checksum).
    if (!result.ok() || input_->writeError()) {
        discard();
        throw Error(where(blocks_.front()) + ": btrfs receive failed (" +
                    clipped(result.ok() ? std::string(std::strerror(input_->writeError())) : receiveFailure(result)) + ")");
    }
    if (rawBytes && *rawBytes != bytes_) {
        discard();
        throw Error(where(blocks_.front()) + ": stream was " + std::to_string(bytes_) + " bytes, the sender sent " +
                    std::to_string(*rawBytes));
    }
    faultPoint("receive-before-publish");
    std::vector<std::uint64_t> published;
    try {
        checkStagingHoldsOnlyTheBlocks();
        for (std::size_t i = 0; i < blocks_.size(); ++i) {
            checkAndPublish(blocks_[i], i);
            published.push_back(blocks_[i].height);
        }
    } catch (...) {
        discard();
        throw;
    }
    discard(); // the spool and the empty staging directory
    return published;
}

void BlockReceiver::checkAndPublish(const IncomingBlock& block, std::size_t index) {
    const std::string what = where(block);
    std::string staged = stagingDir_ + "/" + heightName(block.height);
    if (!btrfs::isSubvolume(staged))
        throw Error(what + ": the stream did not create the expected subvolume");
    btrfs::SubvolumeInfo info = btrfs::subvolumeInfo(staged);
    if (info.receivedUuid != block.uuid)
        throw Error(what + ": received UUID " + btrfs::uuidString(info.receivedUuid) + " does not match the primary's " +
                    btrfs::uuidString(block.uuid));
    if (!info.readOnly)
        throw Error(what + ": the received block is not read-only (incomplete receive)");
    // Receive finds the base of a snapshot by UUID anywhere on the filesystem: the block
    // must stand on this replica's own copy of its parent, or on nothing for a full one.
    const std::optional<ParentCopy>& parent = parents_[index];
    btrfs::Uuid expectedParent = parent ? parent->ownUuid : btrfs::Uuid{};
    if (info.parentUuid != expectedParent)
        throw Error(what + ": it was built on subvolume " + btrfs::uuidString(info.parentUuid) + ", not " +
                    (parent ? "this replica's block " + std::to_string(*block.parent) : std::string("nothing")));
    try {
        checkHeaderDirectory(staged);
    } catch (const Error& e) {
        throw Error(what + ": " + e.what() + "; only the header may be there (it is outside the footprint)");
    }
    if (readBlockHeader(staged).hash() != block.header.hash())
        throw Error(what + ": the header inside the block differs from the announced one");
    restoreSetIdBitsChownCleared(block, index, staged);
    RecordedFootprint footprint = footprintOf(block, index, staged);
    if (footprint.result.root.hex() != block.header.contentRoot)
        throw Error(what + ": content footprint " + footprint.result.root.hex().substr(0, 16) +
                    "… does not match the signed header's " + block.header.contentRoot.substr(0, 16) + "…");

    std::string finalPath = replica_.blockPath(block.height);
    if (fs::exists(fs::symlink_status(finalPath)))
        throw Error(what + ": " + finalPath + " already exists (foreign block)");
    // btrfs refuses to move a read-only subvolume to another directory. The raw
    // ioctl keeps received_uuid across the flip; a crash inside this window leaves a
    // checked but writable block, which LocalReplica::cleanStaging seals again.
    btrfs::setReadOnly(staged, false);
    if (::rename(staged.c_str(), finalPath.c_str()) != 0) {
        int err = errno;
        btrfs::setReadOnly(staged, true);
        throwSystemError(what + ": cannot publish", err);
    }
    btrfs::setReadOnly(finalPath, true);
    if (btrfs::subvolumeInfo(finalPath).receivedUuid != block.uuid)
        throw Error(what + ": received UUID was lost while publishing");
    bool consecutive = block.parent && *block.parent + 1 == block.height && footprint.derivedFromParent;
    try {
        FootprintRecords(replica_.footprintsDir()).keep(block.height, *footprint.record, consecutive);
    } catch (const Error&) {
        // The block is checked and published; a lost record costs the next block a full hash.
    }
}

// btrfs send leaves out the chmod when an inode keeps its parent's mode, but receive's
// chown clears a non-directory's set-user-ID and set-group-ID bits. Put back the bits
// this replica's own copy of the parent had on the same inode (inode numbers carry over
// into a snapshot); nothing else. The footprint then judges the result as always.
void BlockReceiver::restoreSetIdBitsChownCleared(const IncomingBlock& block, std::size_t index,
                                                 const std::string& staged) {
    const std::set<std::string>& chowned = input_->tallies().at(index).chownedWithoutChmod;
    if (chowned.empty() || !block.parent)
        return;
    std::map<std::uint64_t, std::string> wanted; // inode -> its path in the staged block
    for (const auto& path : chowned) {
        struct stat st {};
        if (::lstat((staged + "/" + path).c_str(), &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
            wanted.emplace(st.st_ino, path);
    }
    std::unique_ptr<EntrySource> parentEntries = FootprintRecords(replica_.footprintsDir()).open(*block.parent);
    if (wanted.empty() || !parentEntries)
        return;
    const std::string parentBlock = replica_.blockPath(*block.parent);
    std::vector<std::pair<std::string, mode_t>> fixes;
    std::string path;
    FootprintEntry entry;
    while (parentEntries->next(path, entry)) {
        auto it = wanted.find(entry.inode);
        if (it == wanted.end())
            continue;
        struct stat before {}, now {};
        if (::lstat((parentBlock + "/" + path).c_str(), &before) != 0 ||
            ::lstat((staged + "/" + it->second).c_str(), &now) != 0 || before.st_ino != now.st_ino)
            continue;
        const mode_t setId = before.st_mode & (S_ISUID | S_ISGID);
        if ((now.st_mode & S_IFMT) == (before.st_mode & S_IFMT) && (now.st_mode & 07777) != (before.st_mode & 07777) &&
            ((now.st_mode | setId) & 07777) == (before.st_mode & 07777))
            fixes.emplace_back(it->second, before.st_mode & 07777);
    }
    if (fixes.empty())
        return;
    btrfs::setReadOnly(staged, false); // the raw ioctl: received_uuid stays
    for (const auto& [fixPath, mode] : fixes)
        if (::fchmodat(AT_FDCWD, (staged + "/" + fixPath).c_str(), mode, 0) != 0)
            throwSystemError(where(block) + ": cannot restore the mode of " + displayPath(fixPath), errno);
    btrfs::setReadOnly(staged, true);
}

// The footprint re-hashed from the disk, never from what the stream claims it touched:
// incrementally from this replica's own record of the parent, guided by the kernel's
// diff of the two subvolumes, when the block changed little; else from scratch. The
// signed header bounds the work either way.
RecordedFootprint BlockReceiver::footprintOf(const IncomingBlock& block, std::size_t index, const std::string& staged) {
    const FootprintCounts& counts = block.header.counts;
    FootprintOptions options = footprintOptionsBoundedBy(footprintOptionsOf(binding_), counts);
    options.cancelled = limits_.senderGone;
    fs::create_directories(replica_.footprintsDir());
    // The kernel's diff costs what changed in metadata; when the stream touched most of the
    // block's entries (a first big block on a tiny parent, say), hashing it whole costs less.
    // (Every block's own header directory takes a dozen commands, whatever else changed.)
    bool smallChange = input_->tallies().at(index).metadataCommands < 2 * counts.entries() + 64;
    std::optional<std::uint64_t> parent = smallChange ? block.parent : std::nullopt;
    return recordFootprint(FootprintRecords(replica_.footprintsDir()), block.height, staged, parent,
                           parent ? replica_.blockPath(*parent) : std::string(), options);
}

void BlockReceiver::abort(bool keepSpool) noexcept {
    try {
        if (receive_) {
            receive_->kill(SIGKILL); // first: a feeding thread blocked on its pipe then returns
            feeder_->cancel("receive stopped");
            watchdog_->stop();
            receive_->wait();
            receive_.reset();
        }
        btrfs::removeTree(stagingDir_);
        if (!keepSpool && !spool_.file.empty()) {
            std::error_code ec;
            fs::remove(spool_.file, ec);
        }
    } catch (...) {
        // Whatever is left sits in staging, never under blocks/, and the next receive cleans it.
    }
}

} // namespace sc
