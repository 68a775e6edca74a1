#include "core/endpoints/remote_endpoint.h"

#include "core/base/error.h"
#include "core/base/fault_injection.h"
#include "core/endpoints/local_endpoint.h"
#include "core/endpoints/plain_endpoint.h"

namespace sc {

namespace {

nlohmann::json announce(const StreamAnnouncement& stream, std::uint64_t resumeFrom, bool compressed,
                        const RelayPlan& plan) {
    nlohmann::json blocks = nlohmann::json::array();
    for (const auto& block : stream.blocks)
        blocks.push_back({{"height", block.height},
                          {"uuid", btrfs::uuidString(block.uuid)},
                          {"header", block.header.toJson()},
                          {"parent", block.parent ? nlohmann::json(*block.parent) : nlohmann::json(nullptr)}});
    nlohmann::json request = {{"op", "receive"}, {"blocks", blocks}, {"compressed", compressed}};
    if (!plan.routes.empty()) {
        // A stream that feeds relays is not spooled: the replicas behind would need the spooled part too.
        request["keep"] = plan.keep;
        request["relay"] = nlohmann::json::array();
        for (const auto& route : plan.routes)
            request["relay"].push_back({{"route", route}});
        return request;
    }
    if (!stream.spoolKey.empty()) {
        request["spool_key"] = stream.spoolKey;
        request["resume_from"] = resumeFrom;
        request["spool_max_rate"] = stream.spoolMaxRate;
    }
    return request;
}

// Frames the stream to the agent. A stream the replica has partly spooled from a
// broken try resumes: the first bytes are only hashed, and must hash to what the
// agent holds, before the rest is sent (compressed here, since the shared
// compressed stream cannot be entered in the middle).
class RemoteStreamSink : public StreamSink {
public:
    RemoteStreamSink(AgentClient& agent, const StreamAnnouncement& stream, std::shared_ptr<const StreamTrailer> trailer,
                     const RelayPlan& plan = {}, std::shared_ptr<std::vector<RelayedOutcome>> results = nullptr)
        : agent_(agent), trailer_(std::move(trailer)), compression_(stream.compression), results_(std::move(results)) {
        SpoolState spooled;
        if (!stream.spoolKey.empty() && plan.routes.empty())
            spooled = agent_.spool(stream.spoolKey);
        ReceiveReady ready = agent_.beginReceive(announce(stream, spooled.bytes, compression_.enabled, plan));
        resumeFrom_ = ready.resumeFrom;
        checksums_ = ready.checksums;
        if (resumeFrom_ > 0) {
            expectedPrefix_ = spooled.sha256;
            if (compression_.enabled)
                compressor_ = std::make_unique<ZstdCompressor>(compression_.level, compression_.threads);
        }
        flipByte_ = faultActive("flip-byte-in-transit");
    }

    bool wantsPacked() const override { return compression_.enabled && resumeFrom_ == 0; }
    TransferChecksums checksumsWanted() const override { return checksums_; }

    void write(std::span<const std::uint8_t> chunk) override {
        if (resumeFrom_ > 0 && rawOffset_ < resumeFrom_) {
            std::size_t skip = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), resumeFrom_ - rawOffset_));
            prefix_.update(chunk.first(skip));
            rawOffset_ += skip;
            chunk = chunk.subspan(skip);
            if (rawOffset_ == resumeFrom_ && prefix_.finish().hex() != expectedPrefix_) {
                agent_.abortReceive("spooled prefix differs from the stream", true);
                throw Error(agent_.label() + ": the spooled part of an earlier transfer does not match this stream; "
                                             "discarded it, the next try sends everything");
            }
        }
        if (chunk.empty())
            return;
        if (resumeFrom_ > 0)
            rawOffset_ += chunk.size();
        if (compressor_) {
            std::string packed;
            compressor_->compress(chunk, packed);
            send(packed);
        } else {
            send(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()));
        }
    }

    void finish() override {
        if (compressor_) {
            std::string packed;
            compressor_->finish(packed);
            send(packed);
        }
        finished_ = true;
        nlohmann::json relayed;
        try {
            agent_.endReceive(trailer_->rawBytes, trailerChecksums(), &relayed);
        } catch (const Error&) {
            report(relayed);
            throw;
        }
        report(relayed);
    }

    void abort() noexcept override {
        if (!finished_)
            agent_.abortReceive("the sender stopped", false);
    }

    std::string name() const override { return agent_.label(); }
    std::uint64_t resumedBytes() const override { return resumeFrom_; }

private:
    // The checksum fields this agent (and the replicas it feeds) asked for.
    nlohmann::json trailerChecksums() const {
        nlohmann::json fields = nlohmann::json::object();
        if (checksums_.sha256)
            fields[trailerChecksumKey(TransferChecksum::Sha256)] = trailer_->rawSha256;
        if (checksums_.xxh3)
            fields[trailerChecksumKey(TransferChecksum::Xxh3)] = trailer_->rawXxh3;
        return fields;
    }

    void report(const nlohmann::json& relayed) {
        if (!results_ || !relayed.is_array())
            return;
        for (const auto& entry : relayed) {
            RelayedOutcome outcome;
            outcome.route = entry.value("route", std::vector<std::string>());
            outcome.error = entry.value("error", std::string());
            outcome.ok = outcome.error.empty();
            results_->push_back(std::move(outcome));
        }
    }

    void send(std::string_view bytes) {
        if (bytes.empty())
            return;
        if (flipByte_ && bytes.size() > 100) {
            // Test builds only: corrupt one byte on the wire, after the checksums were taken.
            std::string corrupted(bytes);
            corrupted[corrupted.size() / 2] ^= 0x01;
            flipByte_ = false;
            agent_.sendData(std::span(reinterpret_cast<const std::uint8_t*>(corrupted.data()), corrupted.size()));
            return;
        }
        agent_.sendData(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    }

    AgentClient& agent_;
    std::shared_ptr<const StreamTrailer> trailer_;
    CompressionSpec compression_;
    std::uint64_t resumeFrom_ = 0, rawOffset_ = 0;
    TransferChecksums checksums_;
    std::string expectedPrefix_;
    Hasher prefix_{HashAlgorithm::Sha256};
    std::unique_ptr<ZstdCompressor> compressor_;
    std::shared_ptr<std::vector<RelayedOutcome>> results_;
    bool flipByte_ = false;
    bool finished_ = false;
};

} // namespace

RemoteEndpoint::RemoteEndpoint(const TargetSpec& target, const ChainIdentity& chain, const EndpointOptions& options)
    : target_(target) {
    SshConnectOptions connect;
    connect.knownHostsFile = options.knownHostsFile;
    connect.identityFile = options.identityFile;
    connect.acceptHostKey = options.acceptHostKey;
    session_ = std::make_unique<SshSession>(sshEndpointOf(target), connect);
    agent_ = std::make_unique<AgentClient>(*session_, target.path, chain, options.agentPath);
}

RemoteEndpoint::RemoteEndpoint(const TargetSpec& target, const ChainIdentity& chain, const EndpointOptions& options,
                               std::unique_ptr<SshSession> session)
    : target_(target), session_(std::move(session)) {
    agent_ = std::make_unique<AgentClient>(*session_, target.path, chain, options.agentPath);
}

RemoteEndpoint::RemoteEndpoint(std::shared_ptr<RemoteEndpoint> relay, const TargetSpec& target,
                               const ChainIdentity& chain, const DownstreamSpec& downstream)
    : target_(target), relay_(std::move(relay)) {
    agent_ = relay_->agent().relayTo(downstream, chain);
}

RemoteEndpoint::~RemoteEndpoint() = default;

std::string RemoteEndpoint::label() const { return agent_->label(); }

void RemoteEndpoint::prepare(const ChainIdentity&) {
    agent_->prepare();
    prepared_ = true;
}

void RemoteEndpoint::checkBinding(const ChainIdentity& chain) {
    const auto& hello = agent_->hello();
    if (!hello.value("exists", false))
        throw Error(label() + " does not exist", ExitCode::Usage);
    if (hello.contains("bound_chain") && hello["bound_chain"].is_string() && hello["bound_chain"] != chain.id)
        throw Error(label() + " belongs to another chain (" + hello["bound_chain"].get<std::string>() + ")");
}

std::vector<ReplicaBlock> RemoteEndpoint::blocks() {
    // A replica that did not exist when we connected has nothing to list until prepared.
    if (!prepared_ && !agent_->hello().value("exists", false))
        return {};
    return agent_->list();
}

std::string RemoteEndpoint::headerText(std::uint64_t height) { return agent_->headerText(height); }
std::string RemoteEndpoint::footprintRoot(std::uint64_t height) { return agent_->footprintRoot(height); }
FootprintTree RemoteEndpoint::footprintTree(std::uint64_t height) { return agent_->footprintTree(height); }

std::unique_ptr<StreamSink> RemoteEndpoint::openStream(const StreamAnnouncement& stream,
                                                       std::shared_ptr<const StreamTrailer> trailer) {
    return std::make_unique<RemoteStreamSink>(*agent_, stream, std::move(trailer));
}

std::unique_ptr<StreamSink> RemoteEndpoint::openRelayedStream(const StreamAnnouncement& stream,
                                                              std::shared_ptr<const StreamTrailer> trailer,
                                                              const RelayPlan& plan,
                                                              std::shared_ptr<std::vector<RelayedOutcome>> results) {
    return std::make_unique<RemoteStreamSink>(*agent_, stream, std::move(trailer), plan, std::move(results));
}

std::unique_ptr<StreamSink> ReplicaEndpoint::openRelayedStream(const StreamAnnouncement&,
                                                               std::shared_ptr<const StreamTrailer>, const RelayPlan&,
                                                               std::shared_ptr<std::vector<RelayedOutcome>>) {
    throw Error(label() + " cannot relay to other replicas: only replicas served by the streamchain agent can");
}

std::unique_ptr<ReplicaEndpoint> openEndpoint(const TargetSpec& target, const ChainIdentity& chain,
                                              const EndpointOptions& options) {
    if (target.kind == TargetSpec::Kind::Ssh && options.plain)
        return std::make_unique<PlainEndpoint>(target, options);
    if (target.kind == TargetSpec::Kind::Ssh)
        return std::make_unique<RemoteEndpoint>(target, chain, options);
    return std::make_unique<LocalEndpoint>(target.path);
}

} // namespace sc
