// Replicas over SSH, against real sshd in network namespaces with their own btrfs:
// pinned host keys, the agent's checks, fan-out mixing local and remote targets,
// many blocks in one stream, corruption in transit, broken links and resuming.
#include "core/btrfs/subvolumes.h"
#include "core/ssh/cipher_preference.h"
#include "core/ssh/ssh_session.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/ssh_hosts.h"

#include <QProcess>
#include <chrono>
#include <filesystem>
#include <map>
#include <sys/stat.h>
#include <unistd.h>
#include <thread>

using namespace sctest;
namespace fs = std::filesystem;

namespace {

bool allMatch(const CommandResult& verify, int blocks) {
    auto states = replicaStates(verify);
    if (static_cast<int>(states.size()) != blocks)
        return false;
    for (const auto& [height, state] : states)
        if (state != "MATCH")
            return false;
    return verify.exitCode == 0;
}

// Every ssh command of a test goes through the lab's client key and the agent built with the tests.
std::vector<std::string> reach(const SshLab& lab) {
    return {"--identity", lab.clientKey(), "--agent-path", STREAMCHAIN_CLI};
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

void pin(SshLab& lab, ChainFixture& chain, int host) {
    // A verify against a fresh replica directory pins the key and changes nothing else.
    auto result = cli(concat({"verify", chain.root(), "--replica", lab.url(host, "pin-probe"), "--accept-host-key",
                              lab.hostKeyFingerprint(host)},
                             reach(lab)));
    if (result.err.find("HOST KEY") != std::string::npos || result.err.find("not pinned") != std::string::npos)
        throw std::runtime_error("pinning failed: " + result.err);
}

// One host, and a chain whose block 1 holds 150 MB of random data: long enough to cut midway.
struct BigBlockOnOneHost {
    SshLab lab{1};
    ChainFixture chain{1024};
    const std::string spoolDir = lab.replicaPath(0, "replica/.streamchain/spool");
    BigBlockOnOneHost() {
        pin(lab, chain, 0);
        writeFile(chain.data("big.bin"), mustRun({"head", "-c", "150000000", "/dev/urandom"}));
        chain.commit("big");
    }
};

// Starts a send to host 0, cuts the link once `watched` holds `bytes` and expects the send to
// fail. Returns what went otherwise, or nothing.
std::string sendCutMidway(SshLab& lab, ChainFixture& chain, const std::vector<std::string>& sendArgs,
                          const std::string& watched, std::uintmax_t bytes) {
    QProcess send;
    QStringList args{"send", QString::fromStdString(chain.root()), "--to",
                     QString::fromStdString(lab.url(0, "replica")), "--json"};
    for (const auto& a : concat(sendArgs, reach(lab)))
        args << QString::fromStdString(a);
    send.start(STREAMCHAIN_CLI, args);
    if (!send.waitForStarted())
        return "send did not start";
    if (!waitForBytesUnder(watched, bytes))
        return "the transfer never got going";
    lab.killConnections(0);
    if (!send.waitForFinished(60000))
        return "send did not end after the cut";
    return send.exitCode() != 0 ? "" : "send succeeded although the link was cut";
}

} // namespace

class TestSshReplication : public QObject {
    Q_OBJECT
private slots:
    void hostKeysArePinnedAndUserKeysChecked() {
        SshLab lab(1);
        ChainFixture chain;
        std::string target = lab.url(0, "replica");
        auto unknown = cli(concat({"send", chain.root(), "--to", target}, reach(lab)));
        QVERIFY(unknown.exitCode != 0);
        QVERIFY2(contains(unknown.err, "not pinned") && contains(unknown.err, lab.hostKeyFingerprint(0)),
                 unknown.err.c_str());
        QVERIFY(!fs::exists(lab.replicaPath(0, "replica")));

        auto wrongFingerprint = cli(concat({"send", chain.root(), "--to", target, "--accept-host-key",
                                            "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
                                           reach(lab)));
        QVERIFY(wrongFingerprint.exitCode != 0);
        QVERIFY2(contains(wrongFingerprint.err, "refusing"), wrongFingerprint.err.c_str());

        auto accepted = cli(concat({"send", chain.root(), "--to", target, "--accept-host-key",
                                    lab.hostKeyFingerprint(0), "--json"},
                                   reach(lab)));
        QVERIFY2(accepted.exitCode == 0, accepted.err.c_str());
        struct stat st {};
        QVERIFY(::stat((chain.root() + "/.streamchain/known_hosts").c_str(), &st) == 0);
        QCOMPARE(st.st_mode & 0777, 0600u);

        auto stranger = cli({"send", chain.root(), "--to", target, "--identity", lab.strangerKey(), "--agent-path",
                             STREAMCHAIN_CLI});
        QVERIFY(stranger.exitCode != 0);
        QVERIFY2(contains(stranger.err, "refused the key"), stranger.err.c_str());

        lab.replaceHostKey(0);
        auto changed = cli(concat({"send", chain.root(), "--to", target}, reach(lab)));
        QVERIFY(changed.exitCode != 0);
        QVERIFY2(contains(changed.err, "HOST KEY CHANGED"), changed.err.c_str());
        // Even an explicit acceptance does not override a pinned key.
        auto override = cli(concat({"send", chain.root(), "--to", target, "--accept-host-key",
                                    lab.hostKeyFingerprint(0)},
                                   reach(lab)));
        QVERIFY(override.exitCode != 0);
        QVERIFY2(contains(override.err, "HOST KEY CHANGED"), override.err.c_str());
    }

    void sessionsPreferAesGcmWhereTheCpuHasIt() {
        // sshd offers OpenSSH's default list, chacha20-poly1305 first; our order decides.
        SshLab lab(1);
        TempDir dir;
        sc::SshConnectOptions options;
        options.knownHostsFile = dir.path() + "/known_hosts";
        options.identityFile = lab.clientKey();
        options.acceptHostKey = lab.hostKeyFingerprint(0);
        options.recordAcceptedKey = false;
        sc::SshSession session({"root", lab.host(0).address, 22}, options);
        QCOMPARE(session.cipher(),
                 std::string(sc::cpuHasAesGcmInstructions() ? "aes256-gcm@openssh.com" : "chacha20-poly1305@openssh.com"));
    }
    void fanOutMixesLocalAndRemoteTargetsCompressed() {
        SshLab lab(2);
        ChainFixture chain;
        pin(lab, chain, 0);
        pin(lab, chain, 1);
        populateAwkwardTree(chain.data("tree"));
        writeFile(chain.data("logs.txt"), std::string(4u << 20, 'L'));
        writeFile(chain.data("random.bin"), mustRun({"head", "-c", "3000000", "/dev/urandom"}));
        chain.commit("first");
        BtrfsImage local(512);
        std::vector<std::string> targets{"--to", lab.url(0, "replica"), "--to", lab.url(1, "replica"), "--to",
                                         local.path("replica")};
        auto full = cli(concat(concat({"send", chain.root(), "--compress", "zstd:3", "--json"}, targets), reach(lab)));
        QVERIFY2(full.exitCode == 0, (full.out + full.err).c_str());
        auto finished = eventsOf(full, "finished").back();
        QVERIFY2(finished["wire_bytes"].get<std::uint64_t>() < finished["bytes_done"].get<std::uint64_t>(),
                 full.out.c_str()); // the 4 MiB of log compressed on the wire

        writeFile(chain.data("tree/plain.txt"), "changed over ssh");
        fs::remove(chain.data("logs.txt"));
        chain.commit("second");
        auto incremental = cli(concat(concat({"send", chain.root(), "--json"}, targets), reach(lab)));
        QVERIFY2(incremental.exitCode == 0, (incremental.out + incremental.err).c_str());
        QCOMPARE(eventsOf(incremental, "block_started").front()["parent"].get<int>(), 1);

        for (const auto& replica : {lab.url(0, "replica"), lab.url(1, "replica"), local.path("replica")}) {
            auto verify = cli(concat({"verify", chain.root(), "--replica", replica, "--json"}, reach(lab)));
            QVERIFY2(allMatch(verify, 3), (replica + ": " + verify.out + verify.err).c_str());
        }

        // Tampering on a remote replica is found by the agent's re-hash, with the path.
        std::string tampered = lab.replicaPath(0, "replica/blocks/000000000002");
        sc::btrfs::setReadOnly(tampered, false); // raw ioctl: received_uuid stays, only hashing can tell
        writeFile(tampered + "/tree/plain.txt", "forged");
        sc::btrfs::setReadOnly(tampered, true);
        auto caught = cli(concat({"verify", chain.root(), "--replica", lab.url(0, "replica"), "--json"}, reach(lab)));
        QCOMPARE(caught.exitCode, 4);
        QCOMPARE(replicaStates(caught).at(2), std::string("MISMATCH"));
        QVERIFY2(contains(caught.out, "tree/plain.txt"), caught.out.c_str());
    }

    void manySmallBlocksTravelInOneStream() {
        SshLab lab(1);
        ChainFixture chain;
        pin(lab, chain, 0);
        for (int i = 0; i < 30; ++i) {
            writeFile(chain.data("counter.txt"), std::to_string(i));
            chain.commit("tick " + std::to_string(i));
        }
        auto send = cli(concat({"send", chain.root(), "--to", lab.url(0, "replica"), "--json"}, reach(lab)));
        QVERIFY2(send.exitCode == 0, (send.out + send.err).c_str());
        QCOMPARE(eventsOf(send, "block_started").size(), std::size_t{1}); // one stream, one receive
        QCOMPARE(eventsOf(send, "block_done").size(), std::size_t{31});
        auto verify = cli(concat({"verify", chain.root(), "--replica", lab.url(0, "replica"), "--json"}, reach(lab)));
        QVERIFY2(allMatch(verify, 31), verify.out.c_str());
    }

    // Sender and agent agree on agent protocol 2 (streams checked by XXH3-128) and still
    // speak version 1 (SHA-256) with a peer of that version, either way round:
    // STREAMCHAIN_AGENT_MAX_PROTOCOL=1 plays the older sender, or (through a wrapper as
    // the agent path) the older agent. The error names the checksum the hop checked.
    void corruptionInTransitIsRejectedByTheDigest_data() {
        QTest::addColumn<QString>("older");
        QTest::addColumn<QString>("checksum");
        QTest::newRow("version-2") << "" << "XXH3-128";
        QTest::newRow("sender-of-version-1") << "sender" << "SHA-256";
        QTest::newRow("agent-of-version-1") << "agent" << "SHA-256";
    }
    void corruptionInTransitIsRejectedByTheDigest() {
        QFETCH(QString, older);
        QFETCH(QString, checksum);
        SshLab lab(1);
        ChainFixture chain;
        pin(lab, chain, 0);
        TempDir wrapperDir("agent-v1");
        std::vector<std::string> options = reach(lab);
        std::vector<std::string> environment;
        if (older == "sender")
            environment.push_back("STREAMCHAIN_AGENT_MAX_PROTOCOL=1");
        if (older == "agent") {
            const std::string wrapper = wrapperDir.path() + "/streamchain-v1";
            writeFile(wrapper, std::string("#!/bin/sh\nSTREAMCHAIN_AGENT_MAX_PROTOCOL=1 exec ") + STREAMCHAIN_CLI +
                                   " \"$@\"\n");
            ::chmod(wrapper.c_str(), 0755);
            ::chmod(wrapperDir.path().c_str(), 0755);
            options.back() = wrapper; // the agent path
        }
        writeFile(chain.data("payload.bin"), mustRun({"head", "-c", "2000000", "/dev/urandom"}));
        chain.commit("payload");
        std::vector<std::string> faulty = environment;
        faulty.push_back("STREAMCHAIN_FAULT=flip-byte-in-transit");
        auto send = cli(concat({"send", chain.root(), "--to", lab.url(0, "replica")}, options), faulty);
        QVERIFY(send.exitCode != 0);
        QVERIFY2(contains(send.err, "digest mismatch"), send.err.c_str());
        QVERIFY2(contains(send.err, checksum.toStdString()), send.err.c_str());
        QVERIFY(namesIn(lab.replicaPath(0, "replica/blocks")).empty());
        QVERIFY(namesIn(lab.replicaPath(0, "replica/.streamchain/staging")).empty());
        auto retry = cli(concat({"send", chain.root(), "--to", lab.url(0, "replica")}, options), environment);
        QVERIFY2(retry.exitCode == 0, retry.err.c_str());
        auto verify = cli(concat({"verify", chain.root(), "--replica", lab.url(0, "replica"), "--json"}, options),
                          environment);
        QVERIFY2(allMatch(verify, 2), verify.out.c_str());
    }

    void remotePathsAreNeverShellCode() {
        SshLab lab(1);
        ChainFixture chain;
        pin(lab, chain, 0);
        std::string marker = "/tmp/sc-pwned-" + std::to_string(::getpid());
        for (const std::string& evil : {"x$(touch " + marker + ")", "x';touch " + marker + ";'", "x`touch " + marker + "`"}) {
            auto send = cli(concat({"send", chain.root(), "--to", lab.url(0, evil)}, reach(lab)));
            QVERIFY2(send.exitCode == 0, send.err.c_str());
            QVERIFY(fs::exists(lab.replicaPath(0, evil + "/blocks/000000000000")));
        }
        QVERIFY(!fs::exists(marker));
    }

    void onboardingDeploysTheAgentAndRegisters() {
        SshLab lab(1);
        ChainFixture chain;
        writeFile(chain.data("hello.txt"), "onboard me");
        chain.commit("first");
        std::string knownHosts = chain.root() + "/.streamchain/known_hosts";
        std::string registry = chain.root() + "/.streamchain/replicas.json";

        // Failures name their step and leave the configuration as it was.
        auto unknownKey = cli({"replica", "add", chain.root(), "r1", lab.url(0, "replica"), "--identity",
                               lab.clientKey()});
        QVERIFY(unknownKey.exitCode != 0);
        QVERIFY2(contains(unknownKey.err, "connect: ") && contains(unknownKey.err, lab.hostKeyFingerprint(0)),
                 unknownKey.err.c_str());
        auto notBtrfs = cli({"replica", "add", chain.root(), "r1", "ssh://root@" + lab.host(0).address + "/tmp/sc-x",
                             "--identity", lab.clientKey(), "--accept-host-key", lab.hostKeyFingerprint(0)});
        QVERIFY(notBtrfs.exitCode != 0);
        QVERIFY2(contains(notBtrfs.err, "check-path: ") && contains(notBtrfs.err, "not btrfs"), notBtrfs.err.c_str());
        auto unreachable = cli({"replica", "add", chain.root(), "r1", "ssh://root@10.255.255.1/x", "--identity",
                                lab.clientKey()});
        QVERIFY(unreachable.exitCode != 0);
        QVERIFY2(contains(unreachable.err, "connect: "), unreachable.err.c_str());
        QVERIFY(!fs::exists(knownHosts));
        QVERIFY(!fs::exists(registry));

        auto added = cli({"replica", "add", chain.root(), "r1", lab.url(0, "replica"), "--identity", lab.clientKey(),
                          "--accept-host-key", lab.hostKeyFingerprint(0), "--compress", "zstd:3", "--json"});
        QVERIFY2(added.exitCode == 0, (added.out + added.err).c_str());
        std::vector<std::string> steps;
        for (const auto& line : jsonLines(added.out))
            if (line["event"] == "step_done")
                steps.push_back(line["step"].get<std::string>());
        QVERIFY2((steps == std::vector<std::string>{"check", "connect", "check-path", "agent", "prepare", "initial-sync",
                                                   "register"}),
                 added.out.c_str());
        QVERIFY2(contains(added.out, "deployed"), added.out.c_str());
        QVERIFY(fs::exists(lab.replicaPath(0, "replica/.streamchain/agent/streamchain")));
        QVERIFY(fs::exists(lab.replicaPath(0, "replica/blocks/000000000001")));

        auto listed = cli({"replica", "list", chain.root(), "--json"});
        QCOMPARE(jsonLines(listed.out).front()["replicas"][0]["name"].get<std::string>(), std::string("r1"));
        auto again = cli({"replica", "add", chain.root(), "r1", lab.url(0, "other")});
        QVERIFY(again.exitCode == 2 && contains(again.err, "already registered"));

        // By name: the registered key and the deployed agent are used.
        writeFile(chain.data("hello.txt"), "second");
        chain.commit("second");
        auto send = cli({"send", chain.root(), "--to", "r1", "--json"});
        QVERIFY2(send.exitCode == 0, (send.out + send.err).c_str());
        auto verify = cli({"verify", chain.root(), "--replica", "r1", "--json"});
        QVERIFY2(allMatch(verify, 3), (verify.out + verify.err).c_str());

        auto removed = cli({"replica", "remove", chain.root(), "r1"});
        QCOMPARE(removed.exitCode, 0);
        auto typo = cli({"send", chain.root(), "--to", "r1"});
        QCOMPARE(typo.exitCode, 2);
        QVERIFY2(contains(typo.err, "no replica named r1"), typo.err.c_str());
    }

    void plainModeWithoutTheAgent() {
        SshLab lab(1);
        ChainFixture chain;
        pin(lab, chain, 0);
        writeFile(chain.data("a.txt"), "plain");
        chain.commit("one");
        std::vector<std::string> plain{"--plain", "--identity", lab.clientKey()};
        auto full = cli(concat({"send", chain.root(), "--to", lab.url(0, "plain"), "--json"}, plain));
        QVERIFY2(full.exitCode == 0, (full.out + full.err).c_str());
        writeFile(chain.data("a.txt"), "plain two");
        chain.commit("two");
        auto incremental = cli(concat({"send", chain.root(), "--to", lab.url(0, "plain"), "--json"}, plain));
        QVERIFY2(incremental.exitCode == 0, (incremental.out + incremental.err).c_str());
        QCOMPARE(eventsOf(incremental, "block_started").front()["parent"].get<int>(), 1);
        QCOMPARE(namesIn(lab.replicaPath(0, "plain/blocks")),
                 (std::vector<std::string>{"000000000000", "000000000001", "000000000002"}));
        // Verification says what it could not check, and does not call it a match.
        auto verify = cli(concat({"verify", chain.root(), "--replica", lab.url(0, "plain"), "--json"}, plain));
        QCOMPARE(verify.exitCode, 4);
        auto states = replicaStates(verify);
        QCOMPARE(states.size(), std::size_t{3});
        for (const auto& [height, state] : states)
            QCOMPARE(state, std::string("UNHASHED"));
        QVERIFY2(contains(verify.out, "not re-hashed"), verify.out.c_str());

        // Registered as plain: sends by name need no --plain, and nothing is deployed.
        auto added = cli({"replica", "add", chain.root(), "p1", lab.url(0, "registered"), "--plain", "--identity",
                          lab.clientKey(), "--json"});
        QVERIFY2(added.exitCode == 0, (added.out + added.err).c_str());
        QVERIFY(!fs::exists(lab.replicaPath(0, "registered/.streamchain/agent")));
        QVERIFY2(namesIn(lab.replicaPath(0, "registered/blocks")).size() == 3, added.out.c_str());
        auto listed = cli({"replica", "list", chain.root(), "--json"});
        QVERIFY2(jsonLines(listed.out).front()["replicas"][0]["plain"] == true, listed.out.c_str());
        writeFile(chain.data("a.txt"), "plain three");
        chain.commit("three");
        auto byName = cli({"send", chain.root(), "--to", "p1", "--json"});
        QVERIFY2(byName.exitCode == 0, (byName.out + byName.err).c_str());
        auto verifyByName = cli({"verify", chain.root(), "--replica", "p1", "--json"});
        QCOMPARE(replicaStates(verifyByName).size(), std::size_t{4});
        QCOMPARE(replicaStates(verifyByName)[3], std::string("UNHASHED"));

        // A block whose .streamchain/ holds more than its header (outside the footprint)
        // is removed again by the plain check, and deep verification names it.
        writeFile(chain.data("a.txt"), "plain four");
        chain.commit("four");
        sc::btrfs::setReadOnly(chain.block(4), false);
        writeFile(chain.block(4) + "/.streamchain/extra", "not covered by the signature");
        sc::btrfs::setReadOnly(chain.block(4), true);
        auto refused = cli({"send", chain.root(), "--to", "p1", "--json"});
        QVERIFY2(refused.exitCode != 0 && contains(refused.out, ".streamchain/ holds more than header.json; removed it"),
                 (refused.out + refused.err).c_str());
        QCOMPARE(namesIn(lab.replicaPath(0, "registered/blocks")).size(), std::size_t{4});
        auto deep = cli({"verify", chain.root(), "--deep"});
        QVERIFY2(deep.exitCode == 4 && contains(deep.out, "BAD block 4") && contains(deep.out, "extra"),
                 deep.out.c_str());
    }

    void brokenTransferResumesFromTheSpool() {
        BigBlockOnOneHost setup;
        auto& [lab, chain, spoolDir] = setup;

        // Cut the connection once a good part of the stream is spooled on the replica.
        std::string cut = sendCutMidway(lab, chain, {"--spool-min", "1M", "--spool-max-rate", "0"}, spoolDir, 40'000'000);
        QVERIFY2(cut.empty(), cut.c_str());
        QVERIFY(!fs::exists(lab.replicaPath(0, "replica/blocks/000000000001")));
        QVERIFY(namesIn(lab.replicaPath(0, "replica/.streamchain/staging")).empty() ||
                !fs::exists(lab.replicaPath(0, "replica/blocks/000000000001")));

        auto second = cli(concat({"send", chain.root(), "--to", lab.url(0, "replica"), "--spool-min", "1M",
                                  "--spool-max-rate", "0", "--json"},
                                 reach(lab)));
        QVERIFY2(second.exitCode == 0, (second.out + second.err).c_str());
        auto summary = eventsOf(second, "summary").back();
        // The snapshot is read again, but what the replica had spooled is not sent again.
        QVERIFY2(summary["targets"][0]["resumed_bytes"].get<std::uint64_t>() >= 30'000'000, second.out.c_str());
        QVERIFY(namesIn(spoolDir).empty());
        auto verify = cli(concat({"verify", chain.root(), "--replica", lab.url(0, "replica"), "--json"}, reach(lab)));
        QVERIFY2(allMatch(verify, 2), verify.out.c_str());
    }

    void aFastStreamStopsSpoolingButStillResumes() {
        BigBlockOnOneHost setup;
        auto& [lab, chain, spoolDir] = setup;
        const std::string stagingDir = lab.replicaPath(0, "replica/.streamchain/staging");
        // Any link is faster than 1 MB/s: the replica keeps the first ~32 MiB it spooled, then
        // stops writing the stream twice.
        const std::vector<std::string> spoolArgs{"--spool-min", "1M", "--spool-max-rate", "1M"};
        std::string cut = sendCutMidway(lab, chain, spoolArgs, stagingDir, 90'000'000);
        QVERIFY2(cut.empty(), cut.c_str());
        std::uint64_t spooled = bytesUnder(spoolDir);
        QVERIFY2(spooled >= 30'000'000 && spooled < 60'000'000, std::to_string(spooled).c_str());

        // The next try resumes from that prefix and sends the rest.
        auto second = cli(concat(concat({"send", chain.root(), "--to", lab.url(0, "replica"), "--json"}, spoolArgs),
                                 reach(lab)));
        QVERIFY2(second.exitCode == 0, (second.out + second.err).c_str());
        QCOMPARE(eventsOf(second, "summary").back()["targets"][0]["resumed_bytes"].get<std::uint64_t>(), spooled);
        auto verify = cli(concat({"verify", chain.root(), "--replica", lab.url(0, "replica"), "--json"}, reach(lab)));
        QVERIFY2(allMatch(verify, 2), verify.out.c_str());
    }
};

STREAMCHAIN_SYSTEM_TEST_MAIN(TestSshReplication)
#include "test_ssh_replication.moc"
