#include "core/plain_endpoint.h"

#include "core/block_header.h"
#include "core/chain.h"
#include "core/error.h"
#include "core/remote_endpoint.h"

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
        // What can be checked without the agent: received UUIDs and the signed headers.
        std::vector<EndpointBlock> present = endpoint_.blocks();
        for (const auto& block : blocks_) {
            bool found = false;
            for (const auto& p : present)
                found = found || (p.height == block.height && p.receivedUuid == block.uuid);
            if (!found || BlockHeader::parse(endpoint_.headerText(block.height), endpoint_.label()).hash() !=
                              block.header.hash())
                throw Error(endpoint_.label() + ": block " + std::to_string(block.height) +
                            " arrived but its UUID or header is not the primary's");
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

std::vector<EndpointBlock> PlainEndpoint::blocks() {
    // Read-only subvolumes below blocks/ with their received UUIDs, one per line:
    // "ID 257 gen 9 top level 5 received_uuid <uuid> path <path>"
    std::string listing = session_->run(
        shellCommand({"btrfs", "subvolume", "list", "-o", "-r", "-R", "--", blocksDir()}), "listing blocks");
    std::vector<EndpointBlock> result;
    std::istringstream lines(listing);
    for (std::string line; std::getline(lines, line);) {
        auto uuidAt = line.find(" received_uuid ");
        auto pathAt = line.find(" path ");
        if (uuidAt == std::string::npos || pathAt == std::string::npos)
            continue;
        std::string uuid = line.substr(uuidAt + 15, pathAt - uuidAt - 15);
        std::string path = line.substr(pathAt + 6);
        EndpointBlock block;
        if (!parseHeightName(path.substr(path.rfind('/') + 1), block.height) || uuid == "-")
            continue;
        try {
            block.receivedUuid = btrfs::parseUuid(uuid);
        } catch (const Error&) {
            continue;
        }
        block.readOnly = true;
        result.push_back(block);
    }
    return result;
}

void PlainEndpoint::removeIncomplete(const std::vector<std::uint64_t>& heights) {
    std::vector<EndpointBlock> complete = blocks();
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

std::string PlainEndpoint::headerText(std::uint64_t height) {
    return session_->run(shellCommand({"cat", "--", blocksDir() + "/" + heightName(height) + "/" + kHeaderFile}),
                         "reading the header of block " + std::to_string(height));
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
