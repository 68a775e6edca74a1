#include "core/local_receive.h"

#include "core/chain.h"
#include "core/chain_identity.h"
#include "core/error.h"
#include "core/fault_injection.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sc {

LocalReceiveSink::LocalReceiveSink(const LocalReplica& replica, ExpectedBlock expected, bool compressed)
    : replica_(replica), expected_(std::move(expected)) {
    // A fresh directory per receive: the stream names the subvolume after the primary's block.
    stagingDir_ = replica_.stagingDir() + "/" + heightName(expected_.height) + "-" + randomHex(4);
    std::error_code ec;
    fs::create_directories(stagingDir_, ec);
    if (ec)
        throw Error(replica_.label() + ": cannot create staging " + stagingDir_ + ": " + ec.message());
    if (compressed)
        decompressor_ = std::make_unique<ZstdDecompressor>();
    receive_ = std::make_unique<Subprocess>(std::vector<std::string>{"btrfs", "receive", "-q", stagingDir_},
                                            Subprocess::Options{.pipeStdin = true, .pipeStdout = false,
                                                                .workingDirectory = {}});
}

LocalReceiveSink::~LocalReceiveSink() {
    if (receive_)
        abort();
}

void LocalReceiveSink::writeRaw(std::span<const std::uint8_t> bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(receive_->stdinFd(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            // The receiver died: its own message says why (e.g. no space left).
            ProcessResult result = receive_->wait();
            receive_.reset();
            throw Error("block " + std::to_string(expected_.height) + " to " + replica_.label() +
                        ": btrfs receive failed (" + (result.ok() ? std::string(std::strerror(err)) : result.describe()) +
                        ")");
        }
        done += static_cast<std::size_t>(n);
    }
}

void LocalReceiveSink::write(std::span<const std::uint8_t> chunk) {
    if (!receive_)
        throw Error(replica_.label() + ": receive is not running");
    if (decompressor_)
        decompressor_->decompress(chunk, [this](std::span<const std::uint8_t> raw) { writeRaw(raw); });
    else
        writeRaw(chunk);
}

void LocalReceiveSink::finish() {
    if (decompressor_)
        decompressor_->finish();
    ProcessResult result = receive_->wait();
    receive_.reset();
    if (!result.ok())
        throw Error("block " + std::to_string(expected_.height) + " to " + replica_.label() +
                    ": btrfs receive failed (" + result.describe() + ")");
    faultPoint("receive-before-publish");
    checkAndPublish();
}

void LocalReceiveSink::checkAndPublish() {
    const std::string where = "block " + std::to_string(expected_.height) + " on " + replica_.label();
    std::string staged = stagingDir_ + "/" + heightName(expected_.height);
    if (!btrfs::isSubvolume(staged))
        throw Error(where + ": the stream did not create the expected subvolume");
    btrfs::SubvolumeInfo info = btrfs::subvolumeInfo(staged);
    if (info.receivedUuid != expected_.uuid)
        throw Error(where + ": received UUID " + btrfs::uuidString(info.receivedUuid) +
                    " does not match the primary's " + btrfs::uuidString(expected_.uuid));
    if (!info.readOnly)
        throw Error(where + ": the received block is not read-only (incomplete receive)");
    BlockHeader header = readBlockHeader(staged);
    if (header.hash().hex() != expected_.headerHash)
        throw Error(where + ": received header differs from the primary's");
    if (!header.signatureValid(expected_.publicKey))
        throw Error(where + ": header signature does not verify with the chain's key");
    std::string finalPath = replica_.blocksDir() + "/" + heightName(expected_.height);
    if (fs::exists(fs::symlink_status(finalPath)))
        throw Error(where + ": " + finalPath + " already exists and is not this block (foreign block)");
    // btrfs refuses to move a read-only subvolume to another directory. The raw
    // ioctl keeps received_uuid across the flip; a crash inside this window leaves a
    // checked but writable block, which LocalReplica::prepare seals again.
    btrfs::setReadOnly(staged, false);
    if (::rename(staged.c_str(), finalPath.c_str()) != 0) {
        int err = errno;
        btrfs::setReadOnly(staged, true);
        throwSystemError(where + ": cannot publish", err);
    }
    btrfs::setReadOnly(finalPath, true);
    if (btrfs::subvolumeInfo(finalPath).receivedUuid != expected_.uuid)
        throw Error(where + ": received UUID was lost while publishing");
    std::error_code ec;
    fs::remove(stagingDir_, ec);
}

void LocalReceiveSink::abort() noexcept {
    try {
        if (receive_) {
            receive_->kill(SIGKILL);
            receive_->wait();
            receive_.reset();
        }
        btrfs::removeTree(stagingDir_);
    } catch (...) {
        // Whatever is left sits in staging, never under blocks/, and the next send cleans it.
    }
}

} // namespace sc
