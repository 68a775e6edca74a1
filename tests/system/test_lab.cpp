// `streamchain lab up` builds the demo world (primary, three namespace hosts, r3
// behind r2, daemon, workload) and `lab down` leaves no trace of it.
#include "tests/support/chain_fixture.h"

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

using namespace sctest;
namespace fs = std::filesystem;

namespace {

// Takes the lab down however the test ends: its processes are detached from the test.
struct LabGuard {
    std::string dir;
    ~LabGuard() { run({STREAMCHAIN_CLI, "lab", "down", "--dir", dir}); }
};

} // namespace

class TestLab : public QObject {
    Q_OBJECT
private slots:
    void upBuildsTheWorldAndDownRemovesEveryTrace() {
        TempDir base("lab");
        std::random_device random;
        const std::string name = "sct" + std::to_string(random() % 100000);
        const std::string dir = base.path() + "/lab", socket = base.path() + "/control.sock";
        LabGuard guard{dir};
        auto up = cli({"lab", "up", "--dir", dir, "--name", name, "--socket", socket, "--interval", "1",
                       "--metrics-port", "0"});
        QVERIFY2(up.exitCode == 0, (up.out + up.err).c_str());
        QVERIFY2(contains(up.out, "r3: relay: r2 relays with key"), up.out.c_str());

        // The workload commits and the daemon feeds all three, r3 through r2.
        nlohmann::json r3;
        for (int i = 0; i < 300; ++i) {
            auto status = cli({"status", "--socket", socket, "--json"});
            auto replies = jsonLines(status.out);
            if (!replies.empty())
                for (const auto& r : replies.front()["chains"][0]["replicas"])
                    if (r["name"] == "r3")
                        r3 = r;
            if (!r3.is_null() && r3["height"].is_number() && r3["height"].get<int>() >= 3 && r3["phase"] == "in-sync")
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        QVERIFY2(!r3.is_null() && r3["height"].get<int>() >= 3 && r3["via"] == "r2", r3.dump().c_str());
        auto verify = cli({"verify", dir + "/mnt/primary/ledger", "--replica", "r3", "--json"});
        QVERIFY2(!replicaStates(verify).empty() && replicaStates(verify).begin()->second == "MATCH",
                 (verify.out + verify.err).c_str());
        auto again = cli({"lab", "up", "--dir", dir, "--name", name, "--socket", socket});
        QVERIFY2(again.exitCode == 2 && contains(again.err, "already up"), again.err.c_str());

        auto down = cli({"lab", "down", "--dir", dir});
        QVERIFY2(down.exitCode == 0, (down.out + down.err).c_str());
        QVERIFY(!fs::exists(dir));
        QVERIFY(!fs::exists(socket));
        QVERIFY2(!contains(mustRun({"ip", "netns", "list"}), name), "a namespace survived");
        QVERIFY2(!contains(mustRun({"ip", "-o", "link", "show"}), name + "0"), "the lab's link survived");
        QVERIFY2(!contains(readFile("/proc/mounts"), dir), "a mount survived");
        QVERIFY2(!contains(mustRun({"losetup", "-a"}), dir), "a loop device survived");
    }
};

STREAMCHAIN_SYSTEM_TEST_MAIN(TestLab)
#include "test_lab.moc"
