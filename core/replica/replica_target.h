#pragma once
// A place that holds received blocks. For now a local btrfs directory:
//   TARGET/blocks/<height>               received read-only snapshots
//   TARGET/.streamchain/replica.json     which chain this replica belongs to
//   TARGET/.streamchain/staging/         receives in progress (never seen as blocks)
//   TARGET/.streamchain/spool/           raw streams of broken transfers, to resume from
//   TARGET/.streamchain/footprints/      footprint trees computed here, for incremental checks
//   TARGET/.streamchain/lock
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/btrfs/subvolumes.h"
#include "core/ledger/chain_identity.h"

namespace sc {

struct SshEndpoint;

struct TargetSpec {
    enum class Kind { Local, Ssh } kind = Kind::Local;
    std::string text; // as the user wrote it
    std::string path; // absolute local path, or the remote path
    std::string user, host; // ssh only
    int port = 22;
};
// "local:/path", "/path", a relative path, or ssh://[user@]host[:port]/absolute/path.
TargetSpec parseTargetSpec(const std::string& text);
// ssh://[user@]host:port/path for ssh targets (the form relays are told), the path otherwise.
std::string targetUrl(const TargetSpec& target);
// Where an ssh target's agent is reached (user, host, port).
SshEndpoint sshEndpointOf(const TargetSpec& target);

// A block as a replica holds it, however the replica is reached (local, agent, plain SSH).
struct ReplicaBlock {
    std::uint64_t height = 0;
    btrfs::Uuid uuid{}, receivedUuid{};
    bool readOnly = false;
};

class LocalReplica {
public:
    explicit LocalReplica(const std::string& root);

    const std::string& root() const { return root_; }
    std::string blocksDir() const { return root_ + "/blocks"; }
    std::string blockPath(std::uint64_t height) const; // blocks/<height name>, whether present or not
    std::string stagingDir() const { return root_ + "/.streamchain/staging"; }
    std::string lockFile() const { return root_ + "/.streamchain/lock"; }
    std::string spoolDir() const { return root_ + "/.streamchain/spool"; }
    std::string footprintsDir() const { return root_ + "/.streamchain/footprints"; }
    std::string label() const { return "replica " + root_; }

    // Create the layout and bind it to the chain; refuse a target bound to another chain or not on btrfs.
    void prepare(const ChainIdentity& chain);
    // Throws if the target does not exist or belongs to another chain (unbound targets are fine).
    void checkBinding(const ChainIdentity& chain) const;
    bool exists() const;
    // The chain this replica is bound to (id, name, key, footprint settings), if any.
    std::optional<ChainIdentity> binding() const;
    std::vector<ReplicaBlock> blocks() const; // subvolumes under blocks/ with height names, sorted
    // Remove half-done receives and re-seal interrupted publishes; call with the replica lock held.
    void cleanStaging() const;

private:
    std::string root_;
};

} // namespace sc
