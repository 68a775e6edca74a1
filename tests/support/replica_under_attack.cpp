#include "tests/support/replica_under_attack.h"

#include "core/base/height_names.h"
#include "core/btrfs/subvolumes.h"
#include "core/ledger/block_header.h"

#include <QTest>
#include <filesystem>

namespace fs = std::filesystem;

namespace sctest {

namespace {

constexpr std::uint64_t kBase = HostilePrimary::kBase;
constexpr std::uint64_t kTarget = HostilePrimary::kTarget;

std::string withoutPathsUnder(std::string text, const std::string& root) {
    for (std::size_t at; !root.empty() && (at = text.find(root)) != std::string::npos;) {
        std::size_t end = text.find_first_of(" \t\n)\"':", at);
        text.replace(at, (end == std::string::npos ? text.size() : end) - at, "<replica>");
    }
    return text;
}

void report(const ExpectedReason& reason, const std::string& what) {
    qInfo("%s", shortened(reason.caseName + ": " + what).c_str());
}

} // namespace

bool ExpectedReason::namedIn(const std::string& text, const std::string& root) const {
    const std::string scrubbed = lowercase(withoutPathsUnder(text, root));
    for (const auto& word : words)
        if (contains(scrubbed, lowercase(word)))
            return true;
    return false;
}

std::string ExpectedReason::describe() const {
    std::string text;
    for (const auto& word : words)
        text += (text.empty() ? "\"" : " or \"") + word + "\"";
    return text;
}

std::string shortened(const std::string& text) {
    constexpr std::size_t kKeep = 300;
    return text.size() <= 2 * kKeep ? text
                                    : text.substr(0, kKeep) + " […] " + text.substr(text.size() - kKeep);
}

ReplicaUnderAttack::ReplicaUnderAttack(HostilePrimary& primary,
                                       const std::function<void(BtrfsImage&)>& before)
    : primary_(primary), disk_(256) {
    if (before)
        before(disk_);
    root_ = primary_.replicate(disk_);
}

std::string ReplicaUnderAttack::target(const std::string& relative) const {
    return root_ + "/blocks/" + sc::heightName(kTarget) + (relative.empty() ? "" : "/" + relative);
}

std::string ReplicaUnderAttack::baseBlock() const {
    return root_ + "/blocks/" + sc::heightName(kBase);
}

ReceiveAttempt ReplicaUnderAttack::attempt(std::string stream) const {
    ReceiveAttempt a;
    a.chain = primary_.chainWire();
    a.blocks = nlohmann::json::array({primary_.announcement()});
    a.stream = std::move(stream);
    return a;
}

std::string ReplicaUnderAttack::verifyVerdict() const {
    CommandResult verify =
        boundedCli({"verify", primary_.chain().root(), "--replica", "local:" + root_, "--json"});
    auto states = replicaStates(verify);
    auto it = states.find(static_cast<int>(kTarget));
    return "`verify --replica` says block " + std::to_string(kTarget) + " " +
           (it == states.end() ? std::string("(not listed)") : it->second) + " (exit " +
           std::to_string(verify.exitCode) + ")";
}

std::string ReplicaUnderAttack::baseEvidence() const {
    auto parent = sc::btrfs::subvolumeInfo(target()).parentUuid;
    auto own = sc::btrfs::subvolumeInfo(baseBlock()).uuid;
    return "the published block's parent uuid is " + sc::btrfs::uuidString(parent) +
           (parent == own ? ", the replica's own block " + std::to_string(kBase)
                          : ", not the replica's own block " + std::to_string(kBase) + " (" +
                                sc::btrfs::uuidString(own) + ")");
}

void ReplicaUnderAttack::expectRefused(const ReceiveOutcome& outcome, const ExpectedReason& reason,
                                       const std::function<std::string()>& evidence) {
    report(reason, outcome.describe());
    if (fs::exists(fs::symlink_status(target()))) {
        std::string what = "ATTACK SUCCEEDED: block " + std::to_string(kTarget) + " was published (" +
                           outcome.describe() + "); " + verifyVerdict() + (evidence ? "; " + evidence() : "");
        QFAIL(what.c_str());
    }
    QVERIFY2(outcome.problem.empty(), ("no answer from the agent: " + shortened(outcome.problem)).c_str());
    QVERIFY2(!outcome.accepted, ("the agent accepted the stream: " + outcome.describe()).c_str());
    QVERIFY2(reason.namedIn(outcome.refusal, root_), ("refused, but the reason names none of " +
                                                      reason.describe() + ": " + shortened(outcome.refusal))
                                                         .c_str());
}

void ReplicaUnderAttack::expectRefusedFrame(const std::optional<AgentFrame>& frame, const std::string& what,
                                            AgentSession& session, const ExpectedReason& reason) {
    report(reason, what + ": " + (frame ? frame->describe() : "no answer, " + session.exitDescription()));
    QVERIFY2(frame.has_value(), (what + ": the agent ended the session without an answer (" +
                                 session.exitDescription() + "; stderr: " + session.errors() + ")")
                                    .c_str());
    QVERIFY2(frame->type == 'X', (what + ": expected an X frame, got " + frame->describe()).c_str());
    QVERIFY2(reason.namedIn(frame->error(), root_), (what + ": refused, but the reason names none of " +
                                                     reason.describe() + ": " + shortened(frame->error()))
                                                        .c_str());
}

void ReplicaUnderAttack::expectUnchanged() {
    std::vector<std::string> expected;
    for (std::uint64_t height = 0; height <= kBase; ++height)
        expected.push_back(sc::heightName(height));
    std::vector<std::string> blocks = namesIn(root_ + "/blocks");
    std::string listed;
    for (const auto& name : blocks)
        listed += name + " ";
    QVERIFY2(blocks == expected, ("blocks/ changed: " + listed).c_str());
    std::vector<std::string> staging = namesIn(root_ + "/.streamchain/staging");
    QVERIFY2(staging.empty(),
             ("the staging directory is not empty: " + (staging.empty() ? "" : staging[0])).c_str());
}

void ReplicaUnderAttack::expectHonestSessionWorks() {
    ReceiveOutcome honest = attemptReceive(root_, attempt(primary_.honestIncremental()));
    QVERIFY2(honest.accepted && honest.published == std::vector<std::uint64_t>{kTarget},
             ("the honest session right after failed: " + honest.describe()).c_str());
    CommandResult verify =
        boundedCli({"verify", primary_.chain().root(), "--replica", "local:" + root_, "--json"});
    auto states = replicaStates(verify);
    QVERIFY2(verify.exitCode == 0 && states[static_cast<int>(kTarget)] == "MATCH",
             ("verify --replica after the honest session: " + verify.out + verify.err).c_str());
}

} // namespace sctest
