#pragma once
// A replica host without the agent: the seed's `btrfs receive` over SSH. Blocks are
// received under hidden staging names inside PATH/blocks/ (the stream is renamed on
// the way: btrfs refuses to move a read-only received subvolume to another directory,
// but renames it within one), checked there (received UUID, read-only, the signed
// header), and only then renamed to their height: a link cut mid-stream leaves nothing
// visible, and the next prepare removes what it left. Contents cannot be re-hashed
// there, which verification says.
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

    static constexpr const char* kStagingPrefix = ".incoming-"; // blocks/.incoming-<height>
    std::string blocksDir() const { return target_.path + "/blocks"; }
    SshSession& session() { return *session_; }
    std::vector<ReplicaBlock> stagedBlocks(); // complete (read-only, received) under their staging names
    std::string stagedHeaderText(std::uint64_t height);
    void publish(std::uint64_t height);                           // staged, checked: now visible
    void removeStaged(const std::vector<std::uint64_t>& heights); // a failed or unchecked receive
    // Delete what an older receive straight into blocks/ left for these heights (not complete blocks).
    void removeIncomplete(const std::vector<std::uint64_t>& heights);

private:
    std::vector<ReplicaBlock> listBlocks(const std::string& namePrefix);
    std::string headerTextAt(const std::string& block, std::uint64_t height);
    std::string stagedPath(std::uint64_t height) const;
    void deleteSubvolumeIfPresent(const std::string& path);
    void removeAllStaged(); // every leftover, whatever its height

    TargetSpec target_;
    std::unique_ptr<SshSession> session_;
};

} // namespace sc
