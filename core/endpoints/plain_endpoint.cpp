#include "core/endpoints/plain_endpoint.h"

#include "core/base/error.h"
#include "core/base/height_names.h"
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
        : endpoint_(endpoint), blocks_(stream.blocks) {
        channel_ = endpoint_.session().exec(shellCommand({"btrfs", "receive", "-q", endpoint_.blocksDir()}));
    }
    void write(std::span<const std::uint8_t> chunk) override { channel_->write(chunk); }
    void finish() override {
        channel_->sendEof();
        std::string errors = channel_->drainStderr();
        int status = channel_->exitStatus();
        channel_.reset();
        std::vector<std::uint64_t> heights;
        for (const auto& block : blocks_)
            heights.push_back(block.height);
        if (status != 0) {
            endpoint_.removeIncomplete(heights);
            throw Error(endpoint_.label() + ": btrfs receive failed (exit " + std::to_string(status) + ")" +
                        (errors.empty() ? "" : ": " + errors));
        }
        // What can be checked without the agent: received UUIDs, the signed headers and
        // that nothing but the header sits outside the footprint.
        std::vector<ReplicaBlock> present = endpoint_.blocks();
        for (std::size_t index = 0; index < blocks_.size(); ++index) {
            const IncomingBlock& block = blocks_[index];
            bool found = false;
            for (const auto& p : present)
                found = found || (p.height == block.height && p.receivedUuid == block.uuid);
            std::string problem;
            try {
                if (!found || BlockHeader::parse(endpoint_.headerText(block.height), endpoint_.label()).hash() !=
                                  block.header.hash())
                    problem = endpoint_.label() + ": block " + std::to_string(block.height) +
                              " arrived but its UUID or header is not the primary's";
            } catch (const Error& e) {
                problem = e.what();
            }
            if (!problem.empty()) {
                for (std::size_t later = index; later < blocks_.size(); ++later) // no gap is left behind
                    endpoint_.removeBlock(blocks_[later].height);
                throw Error(problem + "; removed it");
            }
        }
    }
    void abort() noexcept override {
        try {
            channel_.reset(); // closing the channel ends the remote btrfs receive
            std::vector<std::uint64_t> heights;
            for (const auto& block : blocks_)
                heights.push_back(block.height);
            endpoint_.removeIncomplete(heights);
        } catch (...) {
            // The link is gone: the next prepare removes what is left.
        }
    }
    std::string name() const override { return endpoint_.label(); }

private:
    PlainEndpoint& endpoint_;
    std::vector<IncomingBlock> blocks_;
    std::unique_ptr<SshChannel> channel_;
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
    // A receive killed earlier leaves a writable subvolume without a received UUID.
    std::vector<std::uint64_t> all;
    std::istringstream names(session_->run(shellCommand({"ls", "-1", "--", blocksDir()}), "listing"));
    for (std::string name; std::getline(names, name);) {
        std::uint64_t height = 0;
        if (parseHeightName(name, height))
            all.push_back(height);
    }
    removeIncomplete(all);
}

void PlainEndpoint::checkBinding(const ChainIdentity&) {
    session_->run(shellCommand({"test", "-d", blocksDir()}), label() + " exists");
}

std::vector<ReplicaBlock> PlainEndpoint::blocks() {
    // `btrfs subvolume show` for each entry of blocks/ (`subvolume list -o` on a plain
    // directory lists the whole filesystem, other replicas' blocks included). The
    // script is fixed; the directory travels as its argument.
    static const std::string script =
        "for d in \"$1\"/*; do [ -d \"$d\" ] || continue; printf '@@ %s\\n' \"${d##*/}\"; "
        "btrfs subvolume show \"$d\" 2>/dev/null; done";
    std::string listing =
        session_->run(shellCommand({"sh", "-c", script, "sh", blocksDir()}), "listing blocks");
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
        std::string path = blocksDir() + "/" + heightName(height);
        if (!isComplete)
            session_->run("if [ -e " + shellQuote(path) + " ]; then btrfs subvolume delete -- " + shellQuote(path) +
                              " >/dev/null; fi",
                          "removing the incomplete " + path);
    }
}

// Without the agent, from outside: the block's .streamchain/ must hold only header.json,
// both without symlinks, special or group/other-write bits (and no exec bits on the
// file), the file a regular one with one link; only then is it read, at most 1 MiB. The
// script is fixed; the block travels as its argument. Its first line is the verdict.
std::string PlainEndpoint::headerText(std::uint64_t height) {
    static const std::string script =
        "d=\"$1/.streamchain\"; f=\"$d/header.json\"; "
        "if [ -L \"$d\" ] || [ ! -d \"$d\" ]; then echo '.streamchain/ is not a directory'; exit 0; fi; "
        "if [ \"$(ls -A \"$d\")\" != header.json ]; then echo '.streamchain/ holds more than header.json'; exit 0; fi; "
        "if [ -L \"$f\" ] || [ ! -f \"$f\" ]; then echo '.streamchain/header.json is not a regular file'; exit 0; fi; "
        "echo \"ok $(stat -c '%a' \"$d\") $(stat -c '%a %h %s' \"$f\")\"; head -c 1048577 -- \"$f\"";
    const std::string what = "block " + std::to_string(height) + " on " + label();
    std::string out = session_->run(shellCommand({"sh", "-c", script, "sh", blocksDir() + "/" + heightName(height)}),
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

void PlainEndpoint::removeBlock(std::uint64_t height) {
    std::string path = blocksDir() + "/" + heightName(height);
    session_->run("if [ -e " + shellQuote(path) + " ]; then btrfs subvolume delete -- " + shellQuote(path) +
                      " >/dev/null; fi",
                  "removing " + path);
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
