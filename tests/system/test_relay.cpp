// Relays against real namespace hosts: replicas behind other replicas are
// onboarded through them (the relay's own key and pins), fed while the relay
// receives, verified through them, and a downstream failure does not stop the
// relay. Downstream hosts authorize only their relay's key, so the primary
// cannot reach them directly: every success here went through the relays.
#include "core/btrfs/subvolumes.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/relay_setup.h"
#include "tests/support/ssh_hosts.h"

#include <QProcess>
#include <chrono>
#include <filesystem>
#include <sys/stat.h>
#include <thread>

using namespace sctest;
namespace fs = std::filesystem;

namespace {

bool allMatch(const CommandResult& verify, std::size_t blocks) {
    auto states = replicaStates(verify);
    if (states.size() != blocks || verify.exitCode != 0)
        return false;
    for (const auto& [height, state] : states)
        if (state != "MATCH")
            return false;
    return true;
}

std::vector<std::string> stepsDone(const CommandResult& result) {
    std::vector<std::string> steps;
    for (const auto& line : jsonLines(result.out))
        if (line.value("event", "") == "step_done")
            steps.push_back(line["step"].get<std::string>());
    return steps;
}

} // namespace

class TestRelay : public QObject {
    Q_OBJECT
private slots:
    void relayChainIsOnboardedFedAndVerifiedThroughRelays() {
        SshLab lab(3);
        ChainFixture chain;
        populateAwkwardTree(chain.data("tree"));
        chain.commit("first");
        auto r1 = cli({"replica", "add", chain.root(), "r1", lab.url(0, "replica"), "--identity", lab.clientKey(),
                       "--accept-host-key", lab.hostKeyFingerprint(0), "--agent-path", STREAMCHAIN_CLI});
        QVERIFY2(r1.exitCode == 0, r1.err.c_str());
        lab.setAuthorizedKeys(1, "");
        lab.setAuthorizedKeys(2, "");
        const std::string registry = chain.root() + "/.streamchain/replicas.json";
        const std::string registered = readFile(registry);

        // The downstream host does not know the relay's key yet: the failure says which key to authorize.
        auto unauthorized = cli({"replica", "add", chain.root(), "r2", lab.url(1, "replica"), "--via", "r1",
                                 "--accept-host-key", lab.hostKeyFingerprint(1)});
        QVERIFY(unauthorized.exitCode != 0);
        QVERIFY2(contains(unauthorized.err, "replica r2: connect: ") && contains(unauthorized.err, "authorize") &&
                     contains(unauthorized.err, "streamchain-relay@"),
                 unauthorized.err.c_str());
        struct stat st {};
        QVERIFY(::stat(lab.replicaPath(0, "replica/.streamchain/relay/id_ed25519").c_str(), &st) == 0);
        QCOMPARE(st.st_mode & 0777, 0600u);
        QVERIFY2(contains(unauthorized.err, relayPublicKey(lab, 0).substr(0, 60)), unauthorized.err.c_str());
        QCOMPARE(readFile(registry), registered);
        lab.setAuthorizedKeys(1, relayPublicKey(lab, 0));

        // The relay pins the downstream's host key; an unknown one is shown, not accepted.
        auto unpinned = cli({"replica", "add", chain.root(), "r2", lab.url(1, "replica"), "--via", "r1"});
        QVERIFY(unpinned.exitCode != 0);
        QVERIFY2(contains(unpinned.err, "not pinned") && contains(unpinned.err, lab.hostKeyFingerprint(1)),
                 unpinned.err.c_str());
        QCOMPARE(readFile(registry), registered);

        // The relay deploys its own agent on the downstream host.
        auto r2 = cli({"replica", "add", chain.root(), "r2", lab.url(1, "replica"), "--via", "r1",
                       "--accept-host-key", lab.hostKeyFingerprint(1), "--json"});
        QVERIFY2(r2.exitCode == 0, (r2.out + r2.err).c_str());
        QVERIFY2((stepsDone(r2) ==
                  std::vector<std::string>{"check", "relay", "connect", "check-path", "initial-sync", "register"}),
                 r2.out.c_str());
        QVERIFY(fs::exists(lab.replicaPath(1, "replica/.streamchain/agent/streamchain")));
        QVERIFY(fs::exists(lab.replicaPath(1, "replica/blocks/000000000001")));

        // A relay of a relay: r3 behind r2 behind r1.
        cli({"replica", "add", chain.root(), "r3", lab.url(2, "replica"), "--via", "r2"});
        lab.setAuthorizedKeys(2, relayPublicKey(lab, 1));
        auto r3 = cli({"replica", "add", chain.root(), "r3", lab.url(2, "replica"), "--via", "r2",
                       "--accept-host-key", lab.hostKeyFingerprint(2), "--agent-path", STREAMCHAIN_CLI});
        QVERIFY2(r3.exitCode == 0, (r3.out + r3.err).c_str());

        // One stream from the primary feeds all three: r1 relays to r2 while it receives, r2 to r3.
        writeFile(chain.data("tree/plain.txt"), "second, relayed");
        writeFile(chain.data("big.bin"), mustRun({"head", "-c", "5000000", "/dev/urandom"}));
        chain.commit("second");
        auto send = cli({"send", chain.root(), "--to", "r1", "--to", "r2", "--to", "r3", "--compress", "zstd:3",
                         "--json"});
        QVERIFY2(send.exitCode == 0, (send.out + send.err).c_str());
        std::vector<nlohmann::json> started;
        for (const auto& line : jsonLines(send.out))
            if (line.value("event", "") == "block_started")
                started.push_back(line);
        QCOMPARE(started.size(), std::size_t{1});
        QCOMPARE(started[0]["targets"].size(), std::size_t{3});

        for (const char* name : {"r1", "r2", "r3"}) {
            auto verify = cli({"verify", chain.root(), "--replica", name, "--json"});
            QVERIFY2(allMatch(verify, 3), (std::string(name) + ": " + verify.out + verify.err).c_str());
        }
        // Tampering behind two relays is found by the far agent's re-hash.
        std::string tampered = lab.replicaPath(2, "replica/blocks/000000000002");
        sc::btrfs::setReadOnly(tampered, false);
        writeFile(tampered + "/tree/plain.txt", "forged");
        sc::btrfs::setReadOnly(tampered, true);
        auto caught = cli({"verify", chain.root(), "--replica", "r3", "--json"});
        QCOMPARE(caught.exitCode, 4);
        QCOMPARE(replicaStates(caught)[2], std::string("MISMATCH"));

        auto busy = cli({"replica", "remove", chain.root(), "r2"});
        QVERIFY2(busy.exitCode == 2 && contains(busy.err, "fed through"), busy.err.c_str());
    }

    // Agent protocol versions are per hop: here a relay of version 2 feeds an agent of
    // version 1 (STREAMCHAIN_AGENT_MAX_PROTOCOL=1 through a wrapper as its agent path). One
    // stream's trailer then carries both checksums, and each replica checks its own.
    void aRelayFeedsAnAgentOfAnOlderVersion() {
        SshLab lab(2);
        ChainFixture chain;
        writeFile(chain.data("a.txt"), "one");
        chain.commit("one");
        TempDir wrapperDir("agent-v1");
        const std::string wrapper = wrapperDir.path() + "/streamchain-v1";
        writeFile(wrapper, std::string("#!/bin/sh\nSTREAMCHAIN_AGENT_MAX_PROTOCOL=1 exec ") + STREAMCHAIN_CLI +
                               " \"$@\"\n");
        ::chmod(wrapper.c_str(), 0755);
        ::chmod(wrapperDir.path().c_str(), 0755);
        onboardRelayPair(lab, chain, wrapper);

        writeFile(chain.data("payload.bin"), mustRun({"head", "-c", "2000000", "/dev/urandom"}));
        chain.commit("payload");
        // A byte flipped on the way to the relay reaches both: each refuses it by its own checksum.
        auto corrupted = cli({"send", chain.root(), "--to", "r1", "--to", "r2"}, {"STREAMCHAIN_FAULT=flip-byte-in-transit"});
        QVERIFY(corrupted.exitCode != 0);
        QVERIFY2(contains(corrupted.err, "digest mismatch (XXH3-128") &&
                     contains(corrupted.err, "digest mismatch (SHA-256"),
                 corrupted.err.c_str());
        auto send = cli({"send", chain.root(), "--to", "r1", "--to", "r2", "--compress", "zstd:3"});
        QVERIFY2(send.exitCode == 0, send.err.c_str());
        for (const char* name : {"r1", "r2"}) {
            auto verify = cli({"verify", chain.root(), "--replica", name, "--json"});
            QVERIFY2(allMatch(verify, 3), (std::string(name) + ": " + verify.out + verify.err).c_str());
        }
        // A stream to r2 alone travels as a routed receive, checked at r2 by SHA-256.
        writeFile(chain.data("b.txt"), "two");
        chain.commit("two");
        auto routed = cli({"send", chain.root(), "--to", "r2"});
        QVERIFY2(routed.exitCode == 0, routed.err.c_str());
        auto verify = cli({"verify", chain.root(), "--replica", "r2", "--json"});
        QVERIFY2(allMatch(verify, 4), (verify.out + verify.err).c_str());
    }

    void aBrokenDownstreamDoesNotStopTheRelay() {
        SshLab lab(2, 1024);
        ChainFixture chain(1024);
        writeFile(chain.data("a.txt"), "one");
        chain.commit("one");
        onboardRelayPair(lab, chain);

        // Cut r2's connections while r1 is passing a large block on to it.
        writeFile(chain.data("big.bin"), mustRun({"head", "-c", "120000000", "/dev/urandom"}));
        chain.commit("big");
        QProcess send;
        send.start(STREAMCHAIN_CLI, {"send", QString::fromStdString(chain.root()), "--to", "r1", "--to", "r2",
                                     "--json"});
        QVERIFY(send.waitForStarted());
        const std::string staging = lab.replicaPath(1, "replica/.streamchain/staging");
        QVERIFY2(waitForBytesUnder(staging, 30'000'000), "the relayed transfer never got going");
        lab.killConnections(1);
        QVERIFY(send.waitForFinished(120000));
        std::string out = send.readAllStandardOutput().toStdString();
        QVERIFY2(send.exitCode() != 0, out.c_str()); // r2 failed, and says so
        QVERIFY(fs::exists(lab.replicaPath(0, "replica/blocks/000000000002")));
        QVERIFY(!fs::exists(lab.replicaPath(1, "replica/blocks/000000000002")));
        bool reported = false;
        for (const auto& line : jsonLines(out))
            if (line.value("event", "") == "target_failed" && line["targets"][0] == "r2")
                reported = true;
        QVERIFY2(reported, out.c_str());

        // r1 already holds the block: the next send passes it through r1 to r2 only.
        auto again = cli({"send", chain.root(), "--to", "r1", "--to", "r2", "--json"});
        QVERIFY2(again.exitCode == 0, (again.out + again.err).c_str());
        QVERIFY(namesIn(staging).empty());
        for (const char* name : {"r1", "r2"}) {
            auto verify = cli({"verify", chain.root(), "--replica", name, "--json"});
            QVERIFY2(allMatch(verify, 3), (std::string(name) + ": " + verify.out + verify.err).c_str());
        }
    }
};

STREAMCHAIN_SYSTEM_TEST_MAIN(TestRelay)
#include "test_relay.moc"
