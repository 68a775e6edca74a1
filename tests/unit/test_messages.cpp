// One encoder per value that leaves the engine: each gives the keys of wire_names.h,
// with the values it was given, and none of the names version 1 drifted to.
#include "core/messages/block_messages.h"
#include "core/messages/daemon_messages.h"
#include "core/messages/onboarding_messages.h"
#include "core/messages/send_messages.h"
#include "core/messages/verify_messages.h"
#include "core/messages/wire_names.h"

#include <QTest>
#include <set>

using namespace sc;

namespace {

std::set<std::string> keysOf(const nlohmann::json& j) {
    std::set<std::string> keys;
    for (const auto& [key, value] : j.items())
        keys.insert(key);
    return keys;
}

SendEvent progressEvent() {
    SendEvent event(SendEvent::Kind::Progress);
    event.height = 4;
    event.step = 2;
    event.steps = 3;
    event.progress.bytesDone = 100;
    event.progress.bytesTotal = 400;
    event.progress.rate = 50;
    event.progress.etaSeconds = 6;
    event.wireBytes = 80;
    event.targets = {"r1"};
    return event;
}

BlockHeader sampleHeader() {
    BlockHeader h;
    h.chainId = "0123456789abcdef0123456789abcdef";
    h.height = 7;
    h.previous = std::string(64, 'a');
    h.contentRoot = std::string(64, 'b');
    h.timestamp = "2026-11-24T00:00:00.000000Z";
    h.message = "seventh";
    h.operations = nlohmann::json::array({{{"op", "set"}, {"element", "port:eth0"}}});
    h.elements = {"port:eth0"};
    h.counts = {3, 1, 0, 0, 42};
    return h;
}

} // namespace

class TestMessages : public QObject {
    Q_OBJECT
private slots:
    void progressHasEtaSecondsEverywhere() {
        const SendEvent event = progressEvent();
        const std::set<std::string> progressKeys = {wire::kBytesDone, wire::kBytesTotal, wire::kRate,
                                                    wire::kEtaSeconds, wire::kWireBytes};
        QCOMPARE(keysOf(sendProgressJson(event)), progressKeys);
        for (const nlohmann::json& j : {sendEventJson(event), streamProgressJson(event, {}),
                                        syncProgressEvent("/c", event, {}), sendProgressJson(event)}) {
            QVERIFY2(j[wire::kEtaSeconds] == 6.0, j.dump().c_str());
            QVERIFY2(j[wire::kBytesDone] == 100 && j[wire::kBytesTotal] == 400 && j[wire::kWireBytes] == 80,
                     j.dump().c_str());
            QVERIFY2(!j.contains("eta") && !j.contains("time"), j.dump().c_str());
        }
    }

    void sendEventsNameTheirKind() {
        nlohmann::json j = sendEventJson(progressEvent());
        QCOMPARE(j[wire::kEvent].get<std::string>(), std::string(wire::kSendProgress));
        QCOMPARE(j[wire::kHeight].get<int>(), 4);
        QCOMPARE(j[wire::kStep].get<int>(), 2);
        QCOMPARE(j[wire::kSteps].get<int>(), 3);
        QVERIFY(j[wire::kTargets] == nlohmann::json::array({"r1"}));
        QVERIFY(!j.contains(wire::kError));
        SendEvent failed(SendEvent::Kind::TargetFailed);
        failed.error = "gone";
        j = sendEventJson(failed);
        QCOMPARE(j[wire::kEvent].get<std::string>(), std::string(wire::kSendTargetFailed));
        QCOMPARE(j[wire::kError].get<std::string>(), std::string("gone"));
        QVERIFY(!j.contains(wire::kHeight));
        QCOMPARE(std::string(sendEventName(SendEvent::Kind::BlockStarted)), std::string(wire::kSendBlockStarted));
    }

    void streamProgressNamesTheStreamingTargetsWhenTheEventHasNone() {
        SendEvent event = progressEvent();
        event.targets.clear();
        nlohmann::json j = syncProgressEvent("/srv/ledger", event, {"r2", "r3"});
        QCOMPARE(j[wire::kEvent].get<std::string>(), std::string(wire::kEventSync));
        QCOMPARE(j[wire::kChain].get<std::string>(), std::string("/srv/ledger"));
        QVERIFY(j[wire::kTargets] == nlohmann::json::array({"r2", "r3"}));
        QCOMPARE(j[wire::kHeight].get<int>(), 4);
    }

    void aTargetOutcomeSaysBlocksReceived() {
        SendReport report;
        report.targets = {{"r1", true, "", 3, 10}, {"r2", false, "unreachable", 0, 0}};
        report.rawBytes = 1000;
        report.wireBytes = 600;
        report.seconds = 1.5;
        nlohmann::json outcome = targetOutcomeJson(report.targets[0]);
        QCOMPARE(keysOf(outcome), (std::set<std::string>{wire::kTarget, wire::kOk, wire::kError,
                                                          wire::kBlocksReceived, wire::kResumedBytes}));
        QCOMPARE(outcome[wire::kBlocksReceived].get<int>(), 3);
        QCOMPARE(outcome[wire::kResumedBytes].get<int>(), 10);
        nlohmann::json result = sendReportJson(report);
        QCOMPARE(result[wire::kTargets].size(), std::size_t{2});
        QVERIFY(result[wire::kTargets][1][wire::kOk] == false);
        QCOMPARE(result[wire::kTargets][1][wire::kError].get<std::string>(), std::string("unreachable"));
        QVERIFY(result[wire::kAllOk] == false);
        QCOMPARE(result[wire::kRawBytes].get<int>(), 1000);
        QCOMPARE(result[wire::kWireBytes].get<int>(), 600);
        QCOMPARE(result[wire::kSeconds].get<double>(), 1.5);
        QVERIFY(!result[wire::kTargets][0].contains("blocks"));
    }

    void verdictsAndTheirTotals() {
        ReplicaBlockVerdict verdict{5, ReplicaBlockState::Mismatch, "contents differ", {"a/b"}};
        nlohmann::json j = blockVerdictJson("r1", verdict);
        QCOMPARE(keysOf(j), (std::set<std::string>{wire::kReplica, wire::kHeight, wire::kState, wire::kDetail,
                                                    wire::kPaths}));
        QCOMPARE(j[wire::kState].get<std::string>(), std::string(wire::kVerdictMismatch));
        QVERIFY(j[wire::kPaths] == nlohmann::json::array({"a/b"}));
        ReplicaVerifyReport report;
        report.blocks = {{0, ReplicaBlockState::Match, "", {}}, verdict};
        nlohmann::json result = replicaVerifyResultJson("r1", report);
        QCOMPARE(keysOf(result), (std::set<std::string>{wire::kReplica, wire::kAllMatch, wire::kCounts}));
        QVERIFY(result[wire::kAllMatch] == false);
        QCOMPARE(result[wire::kCounts][wire::kVerdictMatch].get<int>(), 1);
        QCOMPARE(result[wire::kCounts][wire::kVerdictMismatch].get<int>(), 1);
        QCOMPARE(result[wire::kCounts][wire::kVerdictUnhashed].get<int>(), 0);
        // The verdict words the engine uses are the ones on the wire.
        QCOMPARE(std::string(replicaBlockStateName(ReplicaBlockState::Match)), std::string(wire::kVerdictMatch));
        QCOMPARE(std::string(replicaBlockStateName(ReplicaBlockState::Missing)), std::string(wire::kVerdictMissing));
        QCOMPARE(std::string(replicaBlockStateName(ReplicaBlockState::Foreign)), std::string(wire::kVerdictForeign));
        QCOMPARE(std::string(replicaBlockStateName(ReplicaBlockState::Unhashed)),
                 std::string(wire::kVerdictUnhashed));
    }

    void aChainVerifyReportCountsBlocksChecked() {
        ChainVerifyReport report;
        report.blocksChecked = 9;
        report.bytesHashed = 123;
        report.findings = {{2, "broken link", {"x"}, ""}};
        nlohmann::json j = chainVerifyJson("/srv/ledger", true, report);
        QCOMPARE(j[wire::kBlocksChecked].get<int>(), 9);
        QVERIFY(!j.contains(wire::kBlocks));
        QVERIFY(j[wire::kOk] == false && j[wire::kDeep] == true);
        QCOMPARE(j[wire::kFindings][0][wire::kProblem].get<std::string>(), std::string("broken link"));
        QVERIFY(!j[wire::kFindings][0].contains(wire::kAdvice));
    }

    void aBlockRowSaysTimestamp() {
        const BlockHeader header = sampleHeader();
        nlohmann::json row = blockSummaryJson(header, true);
        QCOMPARE(keysOf(row), (std::set<std::string>{wire::kHeight, wire::kHash, wire::kPrevious, wire::kTimestamp,
                                                      wire::kMessage, wire::kOperations, wire::kElements,
                                                      wire::kBytes, wire::kFiles, wire::kSignatureValid}));
        QCOMPARE(row[wire::kTimestamp].get<std::string>(), header.timestamp);
        QCOMPARE(row[wire::kHash].get<std::string>(), header.hash().hex());
        QCOMPARE(row[wire::kBytes].get<int>(), 42);
        QCOMPARE(row[wire::kFiles].get<int>(), 3);
        // The CLI's header lines spell block time the same way.
        nlohmann::json full = blockHeaderJson(header);
        QCOMPARE(full[wire::kTimestamp].get<std::string>(), header.timestamp);
        QCOMPARE(full[wire::kHash].get<std::string>(), header.hash().hex());
        QCOMPARE(blockHistoryJson(header, header.operations)[wire::kTimestamp].get<std::string>(), header.timestamp);
        for (const nlohmann::json& j : {row, full})
            QVERIFY2(!j.contains("time"), j.dump().c_str());
        nlohmann::json changes = blockChangesJson({{PathChange::Kind::Added, "new"}});
        QCOMPARE(changes[0][wire::kKind].get<std::string>(), std::string("added"));
        QCOMPARE(changes[0][wire::kPath].get<std::string>(), std::string("new"));
    }

    void onboardingLines() {
        OnboardingEvent step{OnboardingEvent::Kind::StepDone, "agent", "deployed 0.1.0", SendEvent(SendEvent::Kind::Progress)};
        nlohmann::json j = onboardingEventJson(step);
        QCOMPARE(j[wire::kEvent].get<std::string>(), std::string(wire::kStepDone));
        QCOMPARE(j[wire::kState].get<std::string>(), std::string(wire::kStepStateDone));
        QCOMPARE(j[wire::kDetail].get<std::string>(), std::string("deployed 0.1.0"));
        OnboardingEvent sending{OnboardingEvent::Kind::Send, wire::kStepInitialSync, "", progressEvent()};
        j = onboardingEventJson(sending);
        QCOMPARE(j[wire::kEvent].get<std::string>(), std::string(wire::kSendProgress));
        QCOMPARE(j[wire::kStep].get<std::string>(), std::string(wire::kStepInitialSync));
        QVERIFY(j[wire::kEtaSeconds] == 6.0 && j[wire::kBytesTotal] == 400);
        nlohmann::json detail = hostKeyDetailJson("ssh-ed25519", "SHA256:x");
        QCOMPARE(detail[wire::kHostKey][wire::kFingerprint].get<std::string>(), std::string("SHA256:x"));
    }

    void replicaStatesAndStatus() {
        ReplicaState state;
        state.name = "r1";
        state.phase = wire::kPhaseRetrying;
        state.height = 3;
        state.nextAttempt = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        nlohmann::json j = state.toJson();
        QCOMPARE(j.size(), std::size_t{16});
        QCOMPARE(j[wire::kPhase].get<std::string>(), std::string(wire::kPhaseRetrying));
        QCOMPARE(j[wire::kHeight].get<int>(), 3);
        QVERIFY(j[wire::kRetryInSeconds].get<double>() > 20);
        state.height.reset();
        QVERIFY(state.toJson()[wire::kHeight].is_null());

        nlohmann::json chains = nlohmann::json::array({chainStatusJson("/c", "c", std::nullopt, {state})});
        nlohmann::json status = statusReplyJson(42, "1.0", "now", chains);
        QCOMPARE(status[wire::kProtocol].get<int>(), wire::kProtocolVersion);
        QCOMPARE(wire::kProtocolVersion, 2);
        QVERIFY(status[wire::kOk] == true);
        QVERIFY(status[wire::kChains][0][wire::kTip].is_null());
        QCOMPARE(status[wire::kChains][0][wire::kReplicas][0][wire::kName].get<std::string>(), std::string("r1"));
        nlohmann::json event = replicaEvent("/c", state);
        QCOMPARE(event[wire::kEvent].get<std::string>(), std::string(wire::kEventReplica));
        QCOMPARE(event[wire::kReplica][wire::kName].get<std::string>(), std::string("r1"));
    }

    void jobsAndReplies() {
        JobSnapshot job{7, wire::kOpVerify, "/c", wire::kJobFailed, "lost", nullptr, {{"why", 1}}};
        nlohmann::json done = jobDoneEvent(job);
        QCOMPARE(done[wire::kEvent].get<std::string>(), std::string(wire::kEventJobDone));
        QVERIFY(done[wire::kOk] == false);
        QCOMPARE(done[wire::kState].get<std::string>(), std::string(wire::kJobFailed));
        QCOMPARE(done[wire::kError].get<std::string>(), std::string("lost"));
        QVERIFY(done.contains(wire::kDetail) && !done.contains(wire::kResult));
        job.state = wire::kJobDone;
        job.error.clear();
        job.result = {{wire::kAllMatch, true}};
        job.detail = nullptr;
        done = jobDoneEvent(job);
        QVERIFY(done[wire::kOk] == true && done[wire::kResult][wire::kAllMatch] == true);
        QVERIFY(!done.contains(wire::kError) && !done.contains(wire::kDetail));
        nlohmann::json entry = jobEntryJson(job);
        QCOMPARE(keysOf(entry), (std::set<std::string>{wire::kJob, wire::kKind, wire::kChain, wire::kState,
                                                        wire::kResult}));
        QCOMPARE(jobProgressEvent(job, {{wire::kHeight, 1}})[wire::kProgress][wire::kHeight].get<int>(), 1);
        QCOMPARE(jobStartedEvent(job)[wire::kEvent].get<std::string>(), std::string(wire::kEventJobStarted));
        QVERIFY(refusalReply("refused (x): no", "x")[wire::kRefused] == "x");
        QVERIFY(errorReply("bad")[wire::kOk] == false);
        QVERIFY(jobStartedReply(3)[wire::kJob] == 3);
    }
};

QTEST_APPLESS_MAIN(TestMessages)
#include "test_messages.moc"
