#pragma once
// A place that holds received blocks. For now a local btrfs directory:
//   TARGET/blocks/<height>               received read-only snapshots
//   TARGET/.streamchain/replica.json     which chain this replica belongs to
//   TARGET/.streamchain/staging/         receives in progress (never seen as blocks)
//   TARGET/.streamchain/lock
#include <cstdint>
#include <string>
#include <vector>

#include "core/btrfs.h"

namespace sc {

struct ChainIdentity;

struct TargetSpec {
    enum class Kind { Local, Ssh } kind = Kind::Local;
    std::string text; // as the user wrote it
    std::string path; // absolute local path, or the remote path
};
// "local:/path", "/path" or a relative path; ssh:// is recognised and refused until supported.
TargetSpec parseTargetSpec(const std::string& text);

struct ReplicaBlock {
    std::uint64_t height = 0;
    std::string path;
    btrfs::SubvolumeInfo info;
};

class LocalReplica {
public:
    explicit LocalReplica(const std::string& root);

    const std::string& root() const { return root_; }
    std::string blocksDir() const { return root_ + "/blocks"; }
    std::string stagingDir() const { return root_ + "/.streamchain/staging"; }
    std::string lockFile() const { return root_ + "/.streamchain/lock"; }
    std::string label() const { return "replica " + root_; }

    // Create the layout and bind it to the chain; refuse a target bound to another chain or not on btrfs.
    void prepare(const ChainIdentity& chain);
    // Throws if the target does not exist or belongs to another chain (unbound targets are fine).
    void checkBinding(const ChainIdentity& chain) const;
    bool exists() const;
    std::vector<ReplicaBlock> blocks() const; // subvolumes under blocks/ with height names, sorted
    // Remove half-done receives and re-seal interrupted publishes; call with the replica lock held.
    void cleanStaging() const;

private:
    std::string root_;
};

} // namespace sc
