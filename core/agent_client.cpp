#include "core/agent_client.h"

#include "core/error.h"

namespace sc {

std::string deployedAgentPath(const std::string& remoteRoot) { return remoteRoot + "/.streamchain/agent/streamchain"; }

std::string agentCommand(const std::string& remoteRoot, const std::string& agentPath) {
    if (!agentPath.empty())
        return shellCommand({agentPath, "agent", "--root", remoteRoot});
    // Prefer an agent deployed into the replica by onboarding, else one installed on the host.
    const std::string deployed = shellQuote(deployedAgentPath(remoteRoot));
    return "if [ -x " + deployed + " ]; then exec " + deployed + " agent --root " + shellQuote(remoteRoot) +
           "; else exec streamchain agent --root " + shellQuote(remoteRoot) + "; fi";
}

AgentClient::AgentClient(SshSession& session, const std::string& remoteRoot, const ChainIdentity& chain,
                         const std::string& agentPath)
    : session_(session), root_(remoteRoot) {
    channel_ = session_.exec(agentCommand(remoteRoot, agentPath));
    SshChannel* channel = channel_.get();
    reader_ = std::make_unique<FrameReader>(
        [channel](std::uint8_t* buffer, std::size_t size) { return channel->read(buffer, size); }, label());
    writer_ = std::make_unique<FrameWriter>([channel](std::span<const std::uint8_t> bytes) { channel->write(bytes); });
    writer_->sendJson(FrameType::Hello, {{"magic", "streamchain"},
                                         {"protocol", kAgentProtocolVersion},
                                         {"version", STREAMCHAIN_VERSION},
                                         {"chain", chainToWire(chain)}});
    std::optional<Frame> answer = reader_->next();
    if (!answer) {
        std::string said = channel_->drainStderr();
        int status = channel_->exitStatus();
        if (status == 127)
            throw Error(label() + ": no streamchain agent on the host (" + (said.empty() ? "command not found" : said) +
                        "); onboard it with `streamchain replica add`, which deploys one");
        throw Error(label() + ": the agent did not start" + (said.empty() ? "" : ": " + said));
    }
    if (answer->type == FrameType::Failure)
        throw Error(label() + ": " + answer->json(label()).value("error", std::string("agent refused")));
    if (answer->type != FrameType::Hello)
        throw Error(label() + ": protocol error: the agent did not answer with a hello");
    hello_ = answer->json(label());
    if (hello_.value("protocol", 0u) != kAgentProtocolVersion)
        throw Error(label() + ": the agent speaks protocol " + hello_.value("protocol", nlohmann::json(0)).dump() +
                    ", this streamchain speaks " + std::to_string(kAgentProtocolVersion) + "; deploy a matching agent");
    if (hello_.contains("bound_chain") && hello_["bound_chain"].is_string() && hello_["bound_chain"] != chain.id)
        throw Error(label() + " belongs to another chain (" + hello_["bound_chain"].get<std::string>() + ")");
}

AgentClient::~AgentClient() {
    try {
        writer_->sendJson(FrameType::Request, {{"op", "bye"}});
        channel_->sendEof();
    } catch (...) {
        // The connection is already gone.
    }
}

std::string AgentClient::label() const { return "replica ssh://" + session_.endpoint().label() + root_; }

nlohmann::json AgentClient::request(const nlohmann::json& body, const std::string& step) {
    writer_->sendJson(FrameType::Request, body);
    return reader_->expect(FrameType::Reply, step).json(label());
}

nlohmann::json AgentClient::prepare() { return request({{"op", "prepare"}}, "preparing the replica"); }

std::vector<RemoteBlock> AgentClient::list() {
    nlohmann::json reply = request({{"op", "list"}}, "listing blocks");
    std::vector<RemoteBlock> blocks;
    for (const auto& entry : reply.at("blocks")) {
        RemoteBlock block;
        block.height = entry.at("height").get<std::uint64_t>();
        block.uuid = btrfs::parseUuid(entry.at("uuid").get<std::string>());
        block.receivedUuid = btrfs::parseUuid(entry.at("received_uuid").get<std::string>());
        block.readOnly = entry.at("read_only").get<bool>();
        blocks.push_back(block);
    }
    return blocks;
}

std::string AgentClient::headerText(std::uint64_t height) {
    return request({{"op", "header"}, {"height", height}}, "reading the header of block " + std::to_string(height))
        .at("text")
        .get<std::string>();
}

std::string AgentClient::footprintRoot(std::uint64_t height) {
    return request({{"op", "footprint"}, {"height", height}}, "hashing block " + std::to_string(height))
        .at("root")
        .get<std::string>();
}

FootprintTree AgentClient::footprintTree(std::uint64_t height) {
    const std::string step = "reading the footprint of block " + std::to_string(height);
    request({{"op", "footprint"}, {"height", height}, {"tree", true}}, step);
    std::string bytes;
    while (true) {
        auto frame = reader_->next();
        if (!frame)
            throw Error(label() + ": connection closed during " + step);
        if (frame->type == FrameType::End)
            break;
        if (frame->type != FrameType::Data)
            throw Error(label() + ": protocol error during " + step);
        bytes += frame->payload;
    }
    return FootprintTree::deserialize(bytes, label() + " footprint of block " + std::to_string(height));
}

SpoolState AgentClient::spool(const std::string& key) {
    nlohmann::json reply = request({{"op", "spool"}, {"key", key}}, "asking for a spooled transfer");
    return {reply.at("bytes").get<std::uint64_t>(), reply.at("sha256").get<std::string>()};
}

std::uint64_t AgentClient::beginReceive(const nlohmann::json& body) {
    nlohmann::json ready = request(body, "announcing the stream");
    return ready.value("resume_from", std::uint64_t{0});
}

void AgentClient::sendData(std::span<const std::uint8_t> bytes) {
    for (std::size_t at = 0; at < bytes.size(); at += kMaxFramePayload / 2) {
        std::size_t n = std::min(bytes.size() - at, kMaxFramePayload / 2);
        writer_->send(FrameType::Data, std::string_view(reinterpret_cast<const char*>(bytes.data() + at), n));
    }
}

std::vector<std::uint64_t> AgentClient::endReceive(std::uint64_t rawBytes, const std::string& rawSha256) {
    writer_->sendJson(FrameType::End, {{"raw_bytes", rawBytes}, {"raw_sha256", rawSha256}});
    Frame reply = reader_->expect(FrameType::Reply, "receiving");
    return reply.json(label()).at("published").get<std::vector<std::uint64_t>>();
}

void AgentClient::abortReceive(const std::string& reason, bool discardSpool) noexcept {
    try {
        writer_->sendJson(FrameType::Failure, {{"error", reason}, {"discard_spool", discardSpool}});
    } catch (...) {
        // The connection is gone; the agent notices that too and keeps its spool.
    }
}

} // namespace sc
