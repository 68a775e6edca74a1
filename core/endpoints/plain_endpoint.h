#pragma once
// A replica host without the agent: the seed's `btrfs receive` over SSH. Blocks
// are received straight into PATH/blocks/ (btrfs receive marks a subvolume
// read-only with its received UUID only when it is complete; anything else is
// deleted after a failure), headers are checked after the receive, and contents
// cannot be re-hashed there, which verification says.
#include <memory>

#include "core/endpoints/replica_endpoint.h"
#include "core/ssh/ssh_session.h"

namespace sc {

class PlainEndpoint : public ReplicaEndpoint {
public:
    PlainEndpoint(const TargetSpec& target, const EndpointOptions& options);
    PlainEndpoint(const TargetSpec& target, std::unique_ptr<SshSession> session); // already connected
    std::string label() const override;
    void prepare(const ChainIdentity& chain) override;
    void checkBinding(const ChainIdentity& chain) override;
    std::vector<ReplicaBlock> blocks() override;
    std::string headerText(std::uint64_t height) override;
    std::string footprintRoot(std::uint64_t height) override; // throws: no agent to hash with
    FootprintTree footprintTree(std::uint64_t height) override;
    std::unique_ptr<StreamSink> openStream(const StreamAnnouncement& stream,
                                           std::shared_ptr<const StreamTrailer> trailer) override;
    bool remote() const override { return true; }
    bool canHash() const override { return false; }

    std::string blocksDir() const { return target_.path + "/blocks"; }
    SshSession& session() { return *session_; }
    // Delete what a failed receive left under blocks/ for these heights (not complete blocks).
    void removeIncomplete(const std::vector<std::uint64_t>& heights);
    void removeBlock(std::uint64_t height); // a received block that failed the checks

private:
    TargetSpec target_;
    std::unique_ptr<SshSession> session_;
};

} // namespace sc
