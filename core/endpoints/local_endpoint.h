#pragma once
// A replica directory on this machine.
#include "core/endpoints/replica_endpoint.h"
#include "core/ledger/chain_lock.h"

namespace sc {

class LocalEndpoint : public ReplicaEndpoint {
public:
    explicit LocalEndpoint(const std::string& root) : replica_(root) {}
    std::string label() const override { return replica_.label(); }
    void prepare(const ChainIdentity& chain) override;
    void checkBinding(const ChainIdentity& chain) override;
    std::vector<ReplicaBlock> blocks() override;
    std::string headerText(std::uint64_t height) override;
    std::string footprintRoot(std::uint64_t height) override;
    FootprintTree footprintTree(std::uint64_t height) override;
    std::unique_ptr<StreamSink> openStream(const StreamAnnouncement& stream,
                                           std::shared_ptr<const StreamTrailer> trailer) override;
    bool remote() const override { return false; }

private:
    std::string blockPath(std::uint64_t height) const;
    FootprintOptions footprintOptionsFor(std::uint64_t height) const; // bounded by the block's header
    LocalReplica replica_;
    std::unique_ptr<ChainIdentity> binding_;
    std::unique_ptr<ChainLock> lock_;
};

} // namespace sc
