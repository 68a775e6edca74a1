// `streamchain daemon` against a real namespace host: new blocks reach the replica
// on their own, a replica whose connection dies is retried and catches up, the
// control socket serves status and commits, and only privileged peers get in.
#include "core/base/error.h"
#include "core/daemon/control_client.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/daemon_process.h"
#include "tests/support/relay_setup.h"
#include "tests/support/ssh_hosts.h"

#include <QProcess>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <thread>

using namespace sctest;

namespace {

// A free loopback port for the metrics endpoint.
int freePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

std::string httpGet(int port, const std::string& path) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
        [[maybe_unused]] auto sent = ::write(fd, request.data(), request.size());
        char buffer[4096];
        for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
            response.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return response;
}


} // namespace

class TestReplicationDaemon : public QObject {
    Q_OBJECT
private slots:
    void keepsReplicasUpToDateAndRecovers() {
        SshLab lab(1);
        ChainFixture chain;
        TempDir runDir("run");
        std::string socket = runDir.path() + "/control.sock";
        auto added = cli({"replica", "add", chain.root(), "r1", lab.url(0, "replica"), "--identity", lab.clientKey(),
                          "--accept-host-key", lab.hostKeyFingerprint(0), "--agent-path", STREAMCHAIN_CLI});
        QVERIFY2(added.exitCode == 0, added.err.c_str());

        auto noDaemon = cli({"status", "--socket", socket});
        QCOMPARE(noDaemon.exitCode, 1);
        QVERIFY2(contains(noDaemon.err, "no streamchain daemon is running"), noDaemon.err.c_str());

        int metricsPort = freePort();
        DaemonProcess daemon(chain.root(), socket, {"--metrics-port", QString::number(metricsPort)});
        QVERIFY2(daemon.waitFor([](const auto& r) { return inSyncAt(r, 0); }, "r1"), daemon.status().dump().c_str());

        // A commit from the CLI streams by itself.
        writeFile(chain.data("a.txt"), "one");
        chain.commit("one");
        QVERIFY2(daemon.waitFor([](const auto& r) { return inSyncAt(r, 1); }, "r1"), daemon.status().dump().c_str());

        // A commit through the control socket, too.
        writeFile(chain.data("a.txt"), "two");
        auto committed = sc::controlRequest(socket, {{"op", "commit"}, {"chain", chain.root()}, {"message", "two"}});
        QCOMPARE(committed["height"].get<int>(), 2);
        QVERIFY(daemon.waitFor([](const auto& r) { return inSyncAt(r, 2); }, "r1"));

        // The kept-open connection dies; the next block fails, is retried, and arrives.
        lab.killConnections(0);
        lab.setLink(0, false);
        writeFile(chain.data("a.txt"), "three");
        chain.commit("three");
        QVERIFY2(daemon.waitFor([](const auto& r) { return r["phase"] == "retrying" && !r["last_error"].empty(); }, "r1"),
                 daemon.status().dump().c_str());
        QVERIFY(daemon.replica("r1")["blocks_behind"].get<int>() >= 1);
        lab.setLink(0, true);
        QVERIFY2(daemon.waitFor([](const auto& r) { return inSyncAt(r, 3); }, "r1", 60), daemon.status().dump().c_str());

        std::string metrics = httpGet(metricsPort, "/metrics");
        QVERIFY2(contains(metrics, "200 OK") && contains(metrics, "replica=\"r1\"} 3\n"), metrics.c_str());
        QVERIFY(contains(httpGet(metricsPort, "/other"), "404"));

        auto status = cli({"status", "--socket", socket, "--json"});
        QCOMPARE(status.exitCode, 0);
        auto text = cli({"status", "--socket", socket});
        QVERIFY2(contains(text.out, "r1  in-sync  height 3"), text.out.c_str());

        // Verification and onboarding run as daemon jobs, reported through events and status.
        auto job = sc::controlRequest(socket, {{"op", "verify"}, {"chain", chain.root()}, {"replica", "r1"}});
        QVERIFY(job.contains("job"));
        nlohmann::json finished = daemon.waitForJob(job["job"].get<int>());
        QVERIFY2(finished["state"] == "done" && finished["result"]["all_match"] == true, finished.dump().c_str());
        auto badAdd = sc::controlRequest(socket, {{"op", "replica-add"}, {"chain", chain.root()}, {"name", "r9"},
                                                  {"url", "ssh://root@" + lab.host(0).address + "/tmp/not-btrfs"},
                                                  {"identity", lab.clientKey()}});
        finished = daemon.waitForJob(badAdd["job"].get<int>());
        QVERIFY2(finished["state"] == "failed" && contains(finished["error"].get<std::string>(), "check-path"),
                 finished.dump().c_str());

        // Unprivileged users are kept out.
        auto nobody = run_as_nobody({STREAMCHAIN_CLI, "status", "--socket", socket});
        QVERIFY(nobody.exitCode != 0);

        auto verify = cli({"verify", chain.root(), "--replica", "r1", "--json"});
        QVERIFY2(verify.exitCode == 0, verify.out.c_str());
        QCOMPARE(daemon.exitCode(), 0);
    }

    void answersQueriesAndRunsStreamJobs() {
        ChainFixture chain;
        TempDir runDir("run");
        std::string socket = runDir.path() + "/control.sock";
        writeFile(chain.data("notes.txt"), "first");
        chain.commit("first");
        DaemonProcess daemon(chain.root(), socket);
        auto log = sc::controlRequest(socket, {{"op", "log"}});
        QCOMPARE(log["blocks"].size(), std::size_t{2});
        QCOMPARE(log["blocks"][1]["message"].get<std::string>(), std::string("first"));
        QVERIFY(log["blocks"][1]["signature_valid"].get<bool>());
        // Protocol 2: block time is `timestamp`, as in the signed header and `log --json`.
        QVERIFY2(log["blocks"][1].contains("timestamp") && !log["blocks"][1].contains("time"), log.dump().c_str());
        QCOMPARE(daemon.status()["protocol"].get<int>(), 2);
        auto show = sc::controlRequest(socket, {{"op", "show"}, {"height", 1}});
        QVERIFY2(contains(show["changes"].dump(), "notes.txt"), show.dump().c_str());
        std::string refusal;
        try {
            sc::controlRequest(socket, {{"op", "show"}, {"height", 9}});
        } catch (const sc::Error& e) {
            refusal = e.what();
        }
        QVERIFY2(contains(refusal, "block 9 does not exist"), refusal.c_str());

        BtrfsImage target(512);
        std::string replica = target.path("replica");
        auto refused = sc::controlRequest(socket, {{"op", "stream"}, {"targets", {replica}}, {"mode", "incremental"}});
        nlohmann::json failed = daemon.waitForJob(refused["job"].get<int>());
        QVERIFY2(failed["state"] == "failed" && contains(failed["detail"].dump(), "no block in common"),
                 failed.dump().c_str());
        QVERIFY(!std::filesystem::exists(replica + "/blocks/000000000000"));
        auto streamed = sc::controlRequest(socket, {{"op", "stream"}, {"targets", {replica}}, {"compress", "zstd:1"}});
        nlohmann::json done = daemon.waitForJob(streamed["job"].get<int>());
        QVERIFY2(done["state"] == "done" && done["result"]["all_ok"] == true, done.dump().c_str());
        const nlohmann::json& outcome = done["result"]["targets"][0];
        QVERIFY2(outcome["blocks_received"] == 2 && !outcome.contains("blocks"), done.dump().c_str());
        QCOMPARE(namesIn(replica + "/blocks").size(), std::size_t{2});
    }

    void aTransferCutMidwayResumesFromTheSpool() {
        SshLab lab(1, 1024);
        ChainFixture chain(1024);
        TempDir runDir("run");
        std::string socket = runDir.path() + "/control.sock";
        auto added = cli({"replica", "add", chain.root(), "r1", lab.url(0, "replica"), "--identity", lab.clientKey(),
                          "--accept-host-key", lab.hostKeyFingerprint(0), "--agent-path", STREAMCHAIN_CLI});
        QVERIFY2(added.exitCode == 0, added.err.c_str());
        DaemonProcess daemon(chain.root(), socket);
        QVERIFY(daemon.waitFor([](const auto& r) { return inSyncAt(r, 0); }, "r1"));

        // A WAN-like link: the replica spools streams that arrive slower than 50 MB/s.
        lab.shapeLink(0, "200mbit");
        writeFile(chain.data("big.bin"), mustRun({"head", "-c", "120000000", "/dev/urandom"}));
        chain.commit("big");
        const std::string spool = lab.replicaPath(0, "replica/.streamchain/spool");
        QVERIFY2(waitForBytesUnder(spool, 40'000'000), "the transfer never got going");
        lab.killConnections(0);
        QVERIFY2(daemon.waitFor([](const nlohmann::json& r) { return r["failures"].get<int>() >= 1; }, "r1"),
                 daemon.status().dump().c_str());
        QVERIFY(!std::filesystem::exists(lab.replicaPath(0, "replica/blocks/000000000001")));
        QVERIFY2(daemon.waitFor([](const auto& r) { return inSyncAt(r, 1); }, "r1", 90), daemon.status().dump().c_str());
        // The retry sent only what the replica had not spooled.
        QVERIFY2(daemon.replica("r1")["resumed_bytes"].get<std::uint64_t>() >= 30'000'000,
                 daemon.status().dump().c_str());
        auto verify = cli({"verify", chain.root(), "--replica", "r1", "--json"});
        QVERIFY2(verify.exitCode == 0 && replicaStates(verify).size() == 2, (verify.out + verify.err).c_str());
    }

    void feedsReplicasBehindARelay() {
        SshLab lab(2);
        ChainFixture chain;
        TempDir runDir("run");
        std::string socket = runDir.path() + "/control.sock";
        onboardRelayPair(lab, chain);
        DaemonProcess daemon(chain.root(), socket);
        for (int height = 1; height <= 3; ++height) {
            writeFile(chain.data("a.txt"), "block " + std::to_string(height));
            chain.commit("block " + std::to_string(height));
            QVERIFY2(daemon.waitFor([&](const auto& r) { return inSyncAt(r, height); }, "r2"),
                     daemon.status().dump().c_str());
        }
        QVERIFY(inSyncAt(daemon.replica("r1"), 3));
        // The relay's link to r2 dies: r1 keeps up, r2 is retried through r1 and catches up.
        lab.killConnections(1);
        lab.setLink(1, false);
        writeFile(chain.data("a.txt"), "block 4");
        chain.commit("block 4");
        QVERIFY2(daemon.waitFor([](const auto& r) { return r["phase"] == "retrying"; }, "r2", 60),
                 daemon.status().dump().c_str());
        QVERIFY(daemon.waitFor([](const auto& r) { return inSyncAt(r, 4); }, "r1"));
        lab.setLink(1, true);
        QVERIFY2(daemon.waitFor([](const auto& r) { return inSyncAt(r, 4); }, "r2", 60), daemon.status().dump().c_str());
        auto verify = cli({"verify", chain.root(), "--replica", "r2", "--json"});
        QVERIFY2(verify.exitCode == 0 && replicaStates(verify).size() == 5, (verify.out + verify.err).c_str());
        QCOMPARE(daemon.exitCode(), 0);
    }

private:
    static CommandResult run_as_nobody(std::vector<std::string> argv) {
        argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"});
        return run(argv);
    }
};

STREAMCHAIN_SYSTEM_TEST_MAIN(TestReplicationDaemon)
#include "test_replication_daemon.moc"
