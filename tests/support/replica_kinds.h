#pragma once
// One replica of each kind the product knows (a local directory, a host running the
// agent over SSH, a plain SSH host without the agent, a host reached through a relay),
// set up for one chain, so a single set of test cases can run against every kind, as
// restic runs one suite against every backend. Each kind says how to reach it, where
// its files are on this machine (to inspect and tamper), and how to cut a send under way.
#include <QProcess>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/chain_fixture.h"
#include "tests/support/ssh_hosts.h"

namespace sctest {

enum class ReplicaKind { Local, Agent, Plain, Relayed };
const std::vector<ReplicaKind>& allReplicaKinds();
const char* replicaKindName(ReplicaKind kind);

class ReplicaOfKind {
public:
    // Relayed: registers r1 (direct) and r2 (behind r1) and syncs what the chain holds.
    ReplicaOfKind(ReplicaKind kind, ChainFixture& chain);
    ~ReplicaOfKind();
    ReplicaOfKind(const ReplicaOfKind&) = delete;
    ReplicaOfKind& operator=(const ReplicaOfKind&) = delete;

    ReplicaKind kind() const { return kind_; }
    bool hashes() const { return kind_ != ReplicaKind::Plain; } // plain replicas are unhashed by design
    std::vector<std::string> sendArgs() const;                   // `send CHAIN` + these
    CommandResult send(const std::vector<std::string>& extra = {}) const; // with --json
    CommandResult verify() const;                                          // verify --replica --json
    QStringList sendArguments() const;                                     // for a send run as a QProcess

    std::string root() const;                       // the replica directory, as this machine sees it
    std::string blockPath(std::uint64_t height) const;
    std::vector<std::string> visibleBlockNames() const; // blocks/ entries not hidden by a leading dot
    // Kills what receives the stream of `send` (local: its btrfs receive; remote: the
    // host's SSH sessions), as a broken link or a crashed receiver would.
    void cutMidStream(const QProcess& send);

private:
    std::vector<std::string> reach() const; // key, agent path, --plain
    int hostIndex() const { return kind_ == ReplicaKind::Relayed ? 1 : 0; }

    ReplicaKind kind_;
    ChainFixture& chain_;
    std::unique_ptr<BtrfsImage> disk_; // Local
    std::unique_ptr<SshLab> lab_;      // the SSH kinds
};

} // namespace sctest
