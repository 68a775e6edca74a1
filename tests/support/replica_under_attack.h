#pragma once
// One replica for one hostile-sender case: its own loop-mounted btrfs image holding
// blocks 0..kBase of a HostilePrimary, and the checks every case ends with. The checks
// report through QVERIFY/QFAIL: a caller stops once QTest::currentTestFailed().
#include "tests/support/hostile_fixture.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sctest {

// What a refusal must name: any one of `words`, case-insensitively, in its text with
// the replica's own paths left out (its staging area lies under .streamchain/).
struct ExpectedReason {
    std::string caseName;
    std::vector<std::string> words;
    bool namedIn(const std::string& text, const std::string& root) const;
    std::string describe() const; // "\"path\" or \"clone\""
};

class ReplicaUnderAttack {
public:
    // `before` runs on the fresh filesystem before the replica is made on it.
    explicit ReplicaUnderAttack(HostilePrimary& primary, const std::function<void(BtrfsImage&)>& before = {});

    const std::string& root() const { return root_; }
    BtrfsImage& disk() { return disk_; }
    // ROOT/blocks/<target>[/relative]: where an attack would show.
    std::string target(const std::string& relative = {}) const;
    std::string baseBlock() const;
    ReceiveAttempt attempt(std::string stream) const; // the target's honest announcement

    // A block published anyway fails with what it holds, `verify --replica`'s verdict and
    // `evidence`; otherwise the outcome must be a refusal for the expected reason.
    void expectRefused(const ReceiveOutcome& outcome, const ExpectedReason& reason,
                       const std::function<std::string()>& evidence = {});
    void expectRefusedFrame(const std::optional<AgentFrame>& frame, const std::string& what,
                            AgentSession& session, const ExpectedReason& reason);
    void expectUnchanged(); // blocks 0..kBase only, staging empty
    // The honest stream for the target is published and verifies as MATCH.
    void expectHonestSessionWorks();
    // Did the published block grow from this replica's own base block?
    std::string baseEvidence() const;

private:
    std::string verifyVerdict() const;
    HostilePrimary& primary_;
    BtrfsImage disk_;
    std::string root_;
};

std::string shortened(const std::string& text); // long texts (an echoed 64 KiB xattr) cut for messages

} // namespace sctest
