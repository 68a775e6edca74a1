#pragma once
// One seed of the footprint differential test, from an empty chain to its last
// round: the primary, a local replica on another btrfs image, and an SSH replica
// on a namespace host whose image this process has mounted too, so rsync reads
// both sides of every comparison locally. Each round applies the seed's workload,
// then: commit; verify --deep; an incremental send to both replicas (raw and zstd
// by turns); verify --replica (every block MATCH); rsync of the new blocks.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/chain_fixture.h"
#include "tests/support/differential_settings.h"
#include "tests/support/fs_workload.h"
#include "tests/support/ssh_hosts.h"

namespace sctest {

struct SeedOutcome {
    std::string summary; // "seed S round R: failed: check; check", empty if every round held
    std::string report;  // each failed check with what it saw, and the round's workload log
};

class DifferentialRun {
public:
    DifferentialRun(std::uint64_t seed, const DifferentialSettings& settings);

    // Stops at the first round where a check fails: later rounds would build on it.
    SeedOutcome runRounds();
    const FsWorkload& workload() const { return workload_; }

private:
    struct CheckFailure {
        std::string check;
        std::string detail;
    };

    std::vector<CheckFailure> checkRound(std::size_t round);
    void sendToReplicas(std::size_t round, std::vector<CheckFailure>& failures);
    void verifyReplicas(std::size_t round, std::vector<CheckFailure>& failures);
    void compareBlocks(std::size_t round, std::vector<CheckFailure>& failures);
    std::string receiveByHand(std::uint64_t height);
    SeedOutcome outcome(std::size_t round, const std::vector<CheckFailure>& failures,
                        const std::vector<std::string>& log) const;

    std::vector<std::string> reach();
    CommandResult timedCli(const std::string& step, const std::vector<std::string>& args);
    void noteTime(const std::string& step, std::chrono::steady_clock::time_point started);
    std::string blockName(std::uint64_t height) const;

    std::uint64_t seed_;
    const DifferentialSettings& settings_;
    SshLab lab_;
    ChainFixture chain_;
    BtrfsImage localImage_;
    FsWorkload workload_;
    std::string localReplica_;
    std::string sshReplica_;
    std::uint64_t compared_ = 0; // blocks below this height were found identical by rsync already
    std::string timings_;        // of the current round's steps
};

} // namespace sctest
