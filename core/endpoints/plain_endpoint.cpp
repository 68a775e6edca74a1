#include "core/endpoints/plain_endpoint.h"

#include "core/base/error.h"
#include "core/base/height_names.h"
#include "core/btrfs/send_stream_renamer.h"
#include "core/endpoints/remote_endpoint.h"
#include "core/ledger/block_header.h"
#include "core/ledger/chain.h"

#include <cstdio>
#include <optional>
#include <sstream>

namespace sc {

namespace {

class PlainStreamSink : public StreamSink {
public:
    PlainStreamSink(PlainEndpoint& endpoint, const StreamAnnouncement& stream)
        : endpoint_(endpoint), blocks_(stream.blocks),
          renamer_([](const std::string& name) { return PlainEndpoint::kStagingPrefix + name; },
                   [this](std::span<const std::uint8_t> bytes) { channel_->write(bytes); }) {
        for (const auto& block : blocks_)
            heights_.push_back(block.height);
        channel_ = endpoint_.session().exec(shellCommand({"btrfs", "receive", "-q", endpoint_.blocksDir()}));
    }
    void write(std::span<const std::uint8_t> chunk) override { renamer_.feed(chunk); }
    void finish() override {
        try {
            renamer_.finish();
        } catch (const Error& e) {
            abort();
            throw Error(endpoint_.label() + ": " + e.what());
        }
        channel_->sendEof();
        std::string errors = channel_->drainStderr();
        int status = channel_->exitStatus();
        channel_.reset();
        if (status != 0) {
            endpoint_.removeStaged(heights_);
            throw Error(endpoint_.label() + ": btrfs receive failed (exit " + std::to_string(status) + ")" +
                        (errors.empty() ? "" : ": " + errors));
        }
        // What can be checked without the agent, while the blocks are still hidden: received
        // UUIDs, the signed headers and that nothing but the header sits outside the footprint.
        auto staged = endpoint_.stagedBlocks();
        for (std::size_t index = 0; index < blocks_.size(); ++index) {
            std::string problem = checkStaged(blocks_[index], staged);
            if (!problem.empty()) {
                // Those before it are published already; none after it is, so no gap is left.
                endpoint_.removeStaged(std::vector<std::uint64_t>(heights_.begin() + static_cast<std::ptrdiff_t>(index),
                                                                  heights_.end()));
                throw Error(problem + "; removed it");
            }
            endpoint_.publish(blocks_[index].height);
        }
    }
    void abort() noexcept override {
        try {
            channel_.reset(); // closing the channel ends the remote btrfs receive
            endpoint_.removeStaged(heights_);
        } catch (...) {
            // The link is gone: what is left stays hidden, and the next prepare removes it.
        }
    }
    std::string name() const override { return endpoint_.label(); }

private:
    std::string checkStaged(const IncomingBlock& block, const std::vector<ReplicaBlock>& staged) {
        bool found = false;
        for (const auto& s : staged)
            found = found || (s.height == block.height && s.receivedUuid == block.uuid);
        try {
            if (found && BlockHeader::parse(endpoint_.stagedHeaderText(block.height), endpoint_.label()).hash() ==
                             block.header.hash())
                return {};
        } catch (const Error& e) {
            return e.what();
        }
        return endpoint_.label() + ": block " + std::to_string(block.height) +
               " arrived but its UUID or header is not the primary's";
    }

    PlainEndpoint& endpoint_;
    std::vector<IncomingBlock> blocks_;
    std::vector<std::uint64_t> heights_;
    std::unique_ptr<SshChannel> channel_;
    SendStreamRenamer renamer_; // receive creates each block under its staging name
};

} // namespace

PlainEndpoint::PlainEndpoint(const TargetSpec& target, const EndpointOptions& options) : target_(target) {
    SshConnectOptions connect;
    connect.knownHostsFile = options.knownHostsFile;
    connect.identityFile = options.identityFile;
    connect.acceptHostKey = options.acceptHostKey;
    session_ = std::make_unique<SshSession>(sshEndpointOf(target), connect);
}

PlainEndpoint::PlainEndpoint(const TargetSpec& target, std::unique_ptr<SshSession> session)
    : target_(target), session_(std::move(session)) {}

std::string PlainEndpoint::label() const {
    return "replica ssh://" + session_->endpoint().label() + target_.path + " (plain)";
}

void PlainEndpoint::prepare(const ChainIdentity&) {
    std::string ancestor = session_->existingAncestor(target_.path);
    std::string type = session_->run(shellCommand({"stat", "-f", "-c", "%T", "--", ancestor}), "stat");
    if (type.rfind("btrfs", 0) != 0)
        throw Error(label() + " is not on a btrfs filesystem", ExitCode::Usage);
    session_->run(shellCommand({"mkdir", "-p", "--", blocksDir()}), "creating " + blocksDir());
    // A receive killed earlier leaves a writable subvolume without a received UUID: hidden
    // under its staging name, or (from versions that received straight into blocks/) not.
    std::vector<std::uint64_t> all;
    std::istringstream names(session_->run(shellCommand({"ls", "-1", "--", blocksDir()}), "listing"));
    for (std::string name; std::getline(names, name);) {
        std::uint64_t height = 0;
        if (parseHeightName(name, height))
            all.push_back(height);
    }
    removeIncomplete(all);
    removeAllStaged();
}

void PlainEndpoint::checkBinding(const ChainIdentity&) {
    session_->run(shellCommand({"test", "-d", blocksDir()}), label() + " exists");
}

std::vector<ReplicaBlock> PlainEndpoint::blocks() { return listBlocks(""); }

std::vector<ReplicaBlock> PlainEndpoint::stagedBlocks() { return listBlocks(kStagingPrefix); }

std::vector<ReplicaBlock> PlainEndpoint::listBlocks(const std::string& namePrefix) {
    // `btrfs subvolume show` for each entry of blocks/ named PREFIX* (`subvolume list -o`
    // on a plain directory lists the whole filesystem, other replicas' blocks included),
    // printed without the prefix. The script is fixed; directory and prefix travel as its
    // arguments. With no prefix the glob skips hidden names: staged blocks are not blocks.
    static const std::string script =
        "for d in \"$1\"/\"$2\"*; do [ -d \"$d\" ] || continue; n=\"${d##*/}\"; printf '@@ %s\\n' \"${n#\"$2\"}\"; "
        "btrfs subvolume show \"$d\" 2>/dev/null; done";
    std::string listing = session_->run(shellCommand({"sh", "-c", script, "sh", blocksDir(), namePrefix}),
                                        namePrefix.empty() ? "listing blocks" : "listing received blocks");
    std::vector<ReplicaBlock> result;
    std::optional<ReplicaBlock> current;
    auto field = [](const std::string& line, const std::string& name) -> std::optional<std::string> {
        auto at = line.find(name + ":");
        if (at == std::string::npos || line.find_first_not_of(" \t") != at)
            return std::nullopt;
        auto value = line.find_first_not_of(" \t", at + name.size() + 1);
        return value == std::string::npos ? std::string() : line.substr(value);
    };
    auto flush = [&] {
        if (current && current->readOnly && current->receivedUuid != btrfs::Uuid{})
            result.push_back(*current);
        current.reset();
    };
    std::istringstream lines(listing);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("@@ ", 0) == 0) {
            flush();
            ReplicaBlock block;
            if (parseHeightName(line.substr(3), block.height))
                current = block;
            continue;
        }
        if (!current)
            continue;
        try {
            if (auto uuid = field(line, "UUID"))
                current->uuid = btrfs::parseUuid(*uuid);
            else if (auto received = field(line, "Received UUID"); received && *received != "-")
                current->receivedUuid = btrfs::parseUuid(*received);
        } catch (const Error&) {
            current.reset(); // not a block we can vouch for
            continue;
        }
        if (auto flags = field(line, "Flags"))
            current->readOnly = flags->find("readonly") != std::string::npos;
    }
    flush();
    return result;
}

void PlainEndpoint::removeIncomplete(const std::vector<std::uint64_t>& heights) {
    std::vector<ReplicaBlock> complete = blocks();
    for (std::uint64_t height : heights) {
        bool isComplete = false;
        for (const auto& block : complete)
            isComplete = isComplete || block.height == height;
        if (!isComplete)
            deleteSubvolumeIfPresent(blocksDir() + "/" + heightName(height));
    }
}

void PlainEndpoint::removeStaged(const std::vector<std::uint64_t>& heights) {
    for (std::uint64_t height : heights)
        deleteSubvolumeIfPresent(stagedPath(height));
}

void PlainEndpoint::removeAllStaged() {
    // Only subvolumes: receive creates a staged block as one, in one step.
    static const std::string script = "for d in \"$1\"/\"$2\"*; do if btrfs subvolume show \"$d\" >/dev/null 2>&1; "
                                      "then btrfs subvolume delete -- \"$d\" >/dev/null || exit 1; fi; done";
    session_->run(shellCommand({"sh", "-c", script, "sh", blocksDir(), kStagingPrefix}),
                  "removing what a broken receive left in " + blocksDir());
}

void PlainEndpoint::deleteSubvolumeIfPresent(const std::string& path) {
    static const std::string script = "if [ -e \"$1\" ]; then btrfs subvolume delete -- \"$1\" >/dev/null; fi";
    session_->run(shellCommand({"sh", "-c", script, "sh", path}), "removing " + path);
}

std::string PlainEndpoint::stagedPath(std::uint64_t height) const {
    return blocksDir() + "/" + kStagingPrefix + heightName(height);
}

// A rename within blocks/: btrfs allows it for a read-only subvolume and keeps the
// received UUID. Never over an existing name (and into a directory that appeared there
// meanwhile, btrfs refuses the move: no -T needed, which not every mv has).
void PlainEndpoint::publish(std::uint64_t height) {
    static const std::string script = "if [ -e \"$2\" ] || [ -L \"$2\" ]; then echo \"$2 already exists\" >&2; exit 1; fi; "
                                      "mv -- \"$1\" \"$2\"";
    session_->run(shellCommand({"sh", "-c", script, "sh", stagedPath(height), blocksDir() + "/" + heightName(height)}),
                  "publishing block " + std::to_string(height) + " on " + label());
}

// Without the agent, from outside: the block's .streamchain/ must hold only header.json,
// both without symlinks, special or group/other-write bits (and no exec bits on the
// file), the file a regular one with one link; only then is it read, at most 1 MiB. The
// script is fixed; the block travels as its argument. Its first line is the verdict.
std::string PlainEndpoint::headerText(std::uint64_t height) {
    return headerTextAt(blocksDir() + "/" + heightName(height), height);
}

std::string PlainEndpoint::stagedHeaderText(std::uint64_t height) { return headerTextAt(stagedPath(height), height); }

std::string PlainEndpoint::headerTextAt(const std::string& block, std::uint64_t height) {
    static const std::string script =
        "d=\"$1/.streamchain\"; f=\"$d/header.json\"; "
        "if [ -L \"$d\" ] || [ ! -d \"$d\" ]; then echo '.streamchain/ is not a directory'; exit 0; fi; "
        "if [ \"$(ls -A \"$d\")\" != header.json ]; then echo '.streamchain/ holds more than header.json'; exit 0; fi; "
        "if [ -L \"$f\" ] || [ ! -f \"$f\" ]; then echo '.streamchain/header.json is not a regular file'; exit 0; fi; "
        "echo \"ok $(stat -c '%a' \"$d\") $(stat -c '%a %h %s' \"$f\")\"; head -c 1048577 -- \"$f\"";
    const std::string what = "block " + std::to_string(height) + " on " + label();
    std::string out = session_->run(shellCommand({"sh", "-c", script, "sh", block}),
                                    "reading the header of block " + std::to_string(height));
    std::size_t newline = out.find('\n');
    std::string verdict = out.substr(0, newline);
    unsigned dirMode = 0, fileMode = 0, links = 0;
    unsigned long long size = 0;
    if (std::sscanf(verdict.c_str(), "ok %o %o %u %llu", &dirMode, &fileMode, &links, &size) != 4)
        throw Error(what + ": " + (verdict.empty() ? std::string("no header") : verdict));
    if ((dirMode & 07022) || (fileMode & 07133) || links != 1 || size > kMaxHeaderBytes ||
        out.size() - newline - 1 != size)
        throw Error(what + ": .streamchain/ is not as a primary writes it (modes " + std::to_string(dirMode) + "/" +
                    std::to_string(fileMode) + ", " + std::to_string(links) + " links, " + std::to_string(size) +
                    " bytes)");
    return out.substr(newline + 1);
}

std::string PlainEndpoint::footprintRoot(std::uint64_t) {
    throw Error(label() + ": contents cannot be re-hashed on a host without the agent");
}

FootprintTree PlainEndpoint::footprintTree(std::uint64_t height) { throw Error(footprintRoot(height)); }

std::unique_ptr<StreamSink> PlainEndpoint::openStream(const StreamAnnouncement& stream,
                                                      std::shared_ptr<const StreamTrailer>) {
    return std::make_unique<PlainStreamSink>(*this, stream);
}

} // namespace sc
