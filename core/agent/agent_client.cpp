#include "core/agent/agent_client.h"

#include "core/base/error.h"
#include "core/footprint/footprint.h"

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
                         const std::string& agentPath, std::uint32_t newestProtocol)
    : newestProtocol_(newestProtocol ? newestProtocol : agentProtocolNewest()),
      label_("replica ssh://" + session.endpoint().label() + remoteRoot) {
    channel_ = session.exec(agentCommand(remoteRoot, agentPath));
    SshChannel* channel = channel_.get();
    reader_ = std::make_unique<FrameReader>(
        [channel](std::uint8_t* buffer, std::size_t size) { return channel->read(buffer, size); }, label_);
    writer_ = std::make_unique<FrameWriter>([channel](std::span<const std::uint8_t> bytes) { channel->write(bytes); });
    nlohmann::json hello = helloVersions(newestProtocol_);
    hello.update({{"magic", "streamchain"}, {"version", STREAMCHAIN_VERSION}, {"chain", chainToWire(chain)}});
    writer_->sendJson(FrameType::Hello, hello);
    std::optional<Frame> answer = reader_->next();
    if (!answer) {
        std::string said = channel_->drainStderr();
        int status = channel_->exitStatus();
        if (status == 127)
            throw Error(label_ + ": no streamchain agent on the host (" + (said.empty() ? "command not found" : said) +
                        "); onboard it with `streamchain replica add`, which deploys one");
        throw Error(label_ + ": the agent did not start" + (said.empty() ? "" : ": " + said));
    }
    if (answer->type == FrameType::Failure)
        throw Error(label_ + ": " + answer->json(label_).value("error", std::string("agent refused")));
    if (answer->type != FrameType::Hello)
        throw Error(label_ + ": protocol error: the agent did not answer with a hello");
    hello_ = answer->json(label_);
    checkHello(chain);
}

AgentClient::AgentClient(AgentClient& relay, std::vector<std::string> route, std::string label, nlohmann::json hello)
    : newestProtocol_(relay.newestProtocol_), relay_(&relay), route_(std::move(route)), label_(std::move(label)),
      hello_(std::move(hello)) {}

void AgentClient::checkHello(const ChainIdentity& chain) {
    const nlohmann::json protocol = hello_.value("protocol", nlohmann::json(0));
    if (!protocol.is_number_unsigned() || protocol.get<std::uint64_t>() < kAgentProtocolOldest ||
        protocol.get<std::uint64_t>() > newestProtocol_)
        throw Error(label_ + ": the agent speaks protocol " + protocol.dump() + ", this streamchain speaks " +
                    std::to_string(kAgentProtocolOldest) + " to " + std::to_string(newestProtocol_) +
                    "; deploy a matching agent");
    if (hello_.contains("bound_chain") && hello_["bound_chain"].is_string() && hello_["bound_chain"] != chain.id)
        throw Error(label_ + " belongs to another chain (" + hello_["bound_chain"].get<std::string>() + ")");
}

AgentClient::~AgentClient() {
    if (relay_)
        return; // the relay closes its downstream session when ours ends
    try {
        writer_->sendJson(FrameType::Request, {{"op", "bye"}});
        channel_->sendEof();
    } catch (...) {
        // The connection is already gone.
    }
}

void AgentClient::sendFrame(FrameType type, std::string_view payload) {
    if (relay_)
        return relay_->sendFrame(type, payload);
    writer_->send(type, payload);
}

Frame AgentClient::nextFrame(const std::string& step) {
    if (relay_)
        return relay_->nextFrame(step);
    std::optional<Frame> frame = reader_->next();
    if (!frame)
        throw Error(label_ + ": connection closed during " + step);
    return std::move(*frame);
}

namespace {

nlohmann::json replyOf(const Frame& frame, const std::string& label, const std::string& step) {
    if (frame.type == FrameType::Failure) {
        nlohmann::json failure = frame.json(label);
        const nlohmann::json& error = failure.contains("error") ? failure["error"] : nlohmann::json();
        std::string message =
            label + ": " + step + " failed: " + (error.is_string() ? error.get<std::string>() : "(no reason given)");
        if (failure.contains("unhashable") && failure["unhashable"] == true)
            throw UnhashableBlock(message);
        throw Error(message);
    }
    if (frame.type != FrameType::Reply)
        throw Error(label + ": protocol error during " + step + ": expected a reply, got a " +
                    frameTypeName(frame.type) + " frame");
    return frame.json(label);
}

} // namespace

nlohmann::json AgentClient::request(const nlohmann::json& body, const std::string& step) {
    nlohmann::json routed = body;
    if (!route_.empty())
        routed["route"] = route_;
    sendFrame(FrameType::Request, toWire(routed));
    return replyOf(nextFrame(step), label_, step);
}

std::unique_ptr<AgentClient> AgentClient::relayTo(const DownstreamSpec& downstream, const ChainIdentity& chain) {
    const std::string step = "connecting to " + downstream.url;
    nlohmann::json body = {{"op", "downstream"},
                           {"url", downstream.url},
                           {"accept_host_key", downstream.acceptHostKey},
                           {"agent_path", downstream.agentPath},
                           {"deploy", downstream.deploy}};
    if (!route_.empty())
        body["route"] = route_;
    sendFrame(FrameType::Request, toWire(body));
    Frame answer = nextFrame(step);
    if (answer.type == FrameType::Failure) {
        nlohmann::json failure = answer.json(label_);
        std::string message = "relay " + label_ + ": " + failure.value("error", std::string("(no reason given)"));
        if (failure.contains("host_key") && failure["host_key"].is_object())
            throw UnknownHostKeyError(message, failure["host_key"].value("fingerprint", std::string()),
                                      failure["host_key"].value("type", std::string()));
        throw Error(message);
    }
    nlohmann::json reply = replyOf(answer, label_, step);
    std::vector<std::string> route = route_;
    route.push_back(downstream.url);
    std::string relayName = label_.substr(std::string("replica ").size());
    std::unique_ptr<AgentClient> client(new AgentClient(*this, std::move(route),
                                                        "replica " + downstream.url + " via " + relayName,
                                                        reply.value("hello", nlohmann::json::object())));
    client->checkHello(chain);
    return client;
}

std::string AgentClient::relayPublicKey() {
    return request({{"op", "relay-key"}}, "reading the relay's key").at("public_key").get<std::string>();
}

nlohmann::json AgentClient::prepare() { return request({{"op", "prepare"}}, "preparing the replica"); }

std::vector<ReplicaBlock> AgentClient::list() {
    nlohmann::json reply = request({{"op", "list"}}, "listing blocks");
    std::vector<ReplicaBlock> blocks;
    for (const auto& entry : reply.at("blocks")) {
        ReplicaBlock block;
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
        Frame frame = nextFrame(step);
        if (frame.type == FrameType::End)
            break;
        if (frame.type != FrameType::Data)
            throw Error(label_ + ": protocol error during " + step);
        bytes += frame.payload;
    }
    return FootprintTree::deserialize(bytes, label_ + " footprint of block " + std::to_string(height));
}

SpoolState AgentClient::spool(const std::string& key) {
    nlohmann::json reply = request({{"op", "spool"}, {"key", key}}, "asking for a spooled transfer");
    return {reply.at("bytes").get<std::uint64_t>(), reply.at("sha256").get<std::string>()};
}

ReceiveReady AgentClient::beginReceive(const nlohmann::json& body) {
    nlohmann::json ready = request(body, "announcing the stream");
    return {ready.value("resume_from", std::uint64_t{0}), trailerChecksumsOf(ready)};
}

void AgentClient::sendData(std::span<const std::uint8_t> bytes) {
    for (std::size_t at = 0; at < bytes.size(); at += kMaxFramePayload / 2) {
        std::size_t n = std::min(bytes.size() - at, kMaxFramePayload / 2);
        sendFrame(FrameType::Data, std::string_view(reinterpret_cast<const char*>(bytes.data() + at), n));
    }
}

nlohmann::json AgentClient::endReceive(std::uint64_t rawBytes, const nlohmann::json& checksums,
                                       nlohmann::json* relayed) {
    nlohmann::json trailer = checksums;
    trailer["raw_bytes"] = rawBytes;
    sendFrame(FrameType::End, toWire(trailer));
    Frame answer = nextFrame("receiving");
    if (relayed && (answer.type == FrameType::Reply || answer.type == FrameType::Failure))
        *relayed = answer.json(label_).value("relayed", nlohmann::json::array());
    return replyOf(answer, label_, "receiving");
}

void AgentClient::abortReceive(const std::string& reason, bool discardSpool) noexcept {
    try {
        sendFrame(FrameType::Failure, toWire(nlohmann::json{{"error", reason}, {"discard_spool", discardSpool}}));
    } catch (...) {
        // The connection is gone; the agent notices that too and keeps its spool.
    }
}

} // namespace sc
