#pragma once
// A replica on another host, served by `streamchain agent` over one kept-open SSH
// connection, or reached through a relay replica's connection.
#include <memory>

#include "core/agent/agent_client.h"
#include "core/endpoints/replica_endpoint.h"
#include "core/ssh/ssh_session.h"

namespace sc {

class RemoteEndpoint : public ReplicaEndpoint {
public:
    RemoteEndpoint(const TargetSpec& target, const ChainIdentity& chain, const EndpointOptions& options);
    // Over a session that is already connected (onboarding checks the host first).
    RemoteEndpoint(const TargetSpec& target, const ChainIdentity& chain, const EndpointOptions& options,
                   std::unique_ptr<SshSession> session);
    // Behind `relay`: the relay connects to the downstream with its own key and pins.
    RemoteEndpoint(std::shared_ptr<RemoteEndpoint> relay, const TargetSpec& target, const ChainIdentity& chain,
                   const DownstreamSpec& downstream);
    ~RemoteEndpoint() override;
    std::string label() const override;
    void prepare(const ChainIdentity& chain) override;
    void checkBinding(const ChainIdentity& chain) override;
    std::vector<ReplicaBlock> blocks() override;
    std::string headerText(std::uint64_t height) override;
    std::string footprintRoot(std::uint64_t height) override;
    FootprintTree footprintTree(std::uint64_t height) override;
    std::unique_ptr<StreamSink> openStream(const StreamAnnouncement& stream,
                                           std::shared_ptr<const StreamTrailer> trailer) override;
    std::unique_ptr<StreamSink> openRelayedStream(const StreamAnnouncement& stream,
                                                  std::shared_ptr<const StreamTrailer> trailer, const RelayPlan& plan,
                                                  std::shared_ptr<std::vector<RelayedOutcome>> results) override;
    bool remote() const override { return true; }

    AgentClient& agent() { return *agent_; }

private:
    TargetSpec target_;
    std::shared_ptr<RemoteEndpoint> relay_; // kept open while this one uses its session
    std::unique_ptr<SshSession> session_;
    std::unique_ptr<AgentClient> agent_;
    bool prepared_ = false;
};

} // namespace sc
