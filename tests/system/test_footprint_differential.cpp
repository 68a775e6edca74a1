// A seeded randomized differential test of footprints and replication. Each round
// a generated workload changes data/ (contents, holes, reflinks, modes, owners,
// times, xattrs, hard links, renames, type changes, special files, awkward names),
// then: commit; the signed footprint must equal a from-scratch hash (verify
// --deep); an incremental send (raw and zstd by turns) to a local replica and an
// SSH replica must succeed and every replica block must MATCH; and rsync, which
// shares no code with us, must find each new replica block identical to the
// primary's. A failure names the seed, the round, the check and the round's
// workload log: `test_footprint_differential --seed S --rounds R` replays it.
//
// Options (before Qt Test's own): --seed S|random, --seeds K (a soak over K seeds),
// --rounds N, --operations N, --huge-sparse-every N, and --no-hard-links and
// --no-setid-after-chown to look past known failures; or the STREAMCHAIN_DIFF_*
// variables (tests/support/differential_settings.h).
#include "tests/support/chain_fixture.h"
#include "tests/support/differential_settings.h"
#include "tests/support/fs_workload.h"
#include "tests/support/rsync_comparison.h"
#include "tests/support/ssh_hosts.h"

#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace sctest;
namespace fs = std::filesystem;

namespace {

DifferentialSettings gSettings; // set by main before the tests run

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::string indented(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines)
        text += "    " + line + "\n";
    return text;
}

// A check of a round that did not hold: which one, and what it saw.
struct CheckFailure {
    std::string check;
    std::string detail;
};

// What the targets of a send said when they failed (the events' error texts).
std::string sendErrors(const CommandResult& send) {
    std::string errors;
    for (const auto& line : jsonLines(send.out))
        if (line.value("event", "") == "target_failed")
            errors += "    " + line.value("error", "") + "\n";
    return errors.empty() ? send.out + send.err : errors + send.err;
}

// Every block 0..tip on each of `replicas` replicas must be reported, and as MATCH.
std::string replicaMismatches(const CommandResult& verify, std::uint64_t tip, std::size_t replicas) {
    std::string problems;
    std::map<std::string, std::set<std::uint64_t>> matched;
    for (const auto& line : jsonLines(verify.out)) {
        if (!line.contains("state"))
            continue;
        if (line["state"] == "MATCH")
            matched[line["replica"].get<std::string>()].insert(line["height"].get<std::uint64_t>());
        else
            problems += "    " + line.dump() + "\n";
    }
    for (const auto& [replica, heights] : matched)
        if (heights.size() != tip + 1)
            problems += "    " + replica + ": " + std::to_string(heights.size()) + " of " + std::to_string(tip + 1) +
                        " blocks MATCH\n";
    if (matched.size() != replicas)
        problems += "    " + std::to_string(matched.size()) + " of " + std::to_string(replicas) +
                    " replicas reported matching blocks\n";
    return problems + verify.err;
}

struct SeedOutcome {
    std::string summary; // one line per failed seed; empty if every round held
    std::string report;  // the checks that failed, what they saw, the round's workload
};

// One seed from an empty chain to its last round: the primary, a local replica on
// another btrfs image, and an SSH replica on a namespace host whose image this
// process also has mounted, so rsync reads both sides locally.
class DifferentialRun {
public:
    DifferentialRun(std::uint64_t seed, const DifferentialSettings& settings)
        : seed_(seed), settings_(settings), lab_(1, imageMiB(settings)), chain_(imageMiB(settings)),
          localImage_(imageMiB(settings)), workload_(chain_.data(), seed, workloadOptions(settings)),
          localReplica_(localImage_.path("replica")), sshReplica_(lab_.url(0, "replica")) {}

    // Stops at the first round where a check fails: later rounds build on a broken block.
    SeedOutcome runRounds() {
        for (std::size_t round = 1; round <= settings_.rounds; ++round) {
            auto started = std::chrono::steady_clock::now();
            bool huge = settings_.hugeSparseEvery && round % settings_.hugeSparseEvery == 0;
            std::vector<std::string> log = workload_.applyRound(settings_.operations, huge);
            timings_.clear();
            std::vector<CheckFailure> failures = checkRound(round);
            std::printf("seed %llu round %zu: %s in %.1f s (%s)\n", static_cast<unsigned long long>(seed_), round,
                        failures.empty() ? "all checks hold" : "FAILED", secondsSince(started), timings_.c_str());
            std::fflush(stdout);
            if (!failures.empty())
                return outcome(round, failures, log);
        }
        return {};
    }

    const FsWorkload& workload() const { return workload_; }

private:
    static unsigned imageMiB(const DifferentialSettings& s) {
        return static_cast<unsigned>(std::min<std::size_t>(1024 + 48 * s.rounds, 16384));
    }

    static FsWorkloadOptions workloadOptions(const DifferentialSettings& s) {
        FsWorkloadOptions options;
        options.hardLinks = s.hardLinks;
        options.setIdAfterChown = s.setIdAfterChown;
        return options;
    }

    std::vector<std::string> reach() {
        return {"--identity", lab_.clientKey(), "--agent-path", STREAMCHAIN_CLI, "--accept-host-key",
                lab_.hostKeyFingerprint(0)};
    }

    static double secondsSince(std::chrono::steady_clock::time_point start) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }

    void noteTime(const std::string& step, std::chrono::steady_clock::time_point started) {
        char text[64];
        std::snprintf(text, sizeof text, "%s%s %.1f s", timings_.empty() ? "" : ", ", step.c_str(),
                      secondsSince(started));
        timings_ += text;
    }

    CommandResult timedCli(const std::string& step, const std::vector<std::string>& args) {
        auto started = std::chrono::steady_clock::now();
        CommandResult result = cli(args);
        noteTime(step, started);
        return result;
    }

    std::vector<CheckFailure> checkRound(std::size_t round) {
        std::vector<CheckFailure> failures;
        auto exitText = [](const CommandResult& r) { return "exit " + std::to_string(r.exitCode) + ":\n"; };
        std::string message = "seed " + std::to_string(seed_) + " round " + std::to_string(round);
        CommandResult commit = timedCli("commit", {"commit", chain_.root(), "-m", message, "--json"});
        if (commit.exitCode != 0)
            return {{"commit", exitText(commit) + commit.err}}; // nothing else to check
        CommandResult deep = timedCli("verify --deep", {"verify", chain_.root(), "--deep", "--json"});
        if (deep.exitCode != 0)
            failures.push_back({"verify --deep", exitText(deep) + deep.out + deep.err});

        std::vector<std::string> send{"send", chain_.root(), "--to", localReplica_, "--to", sshReplica_, "--json"};
        bool compressed = round % 2 == 0;
        if (compressed)
            send = concat(send, {"--compress", "zstd"});
        CommandResult sent = timedCli("send", concat(send, reach()));
        if (sent.exitCode != 0)
            failures.push_back({compressed ? "send --compress zstd" : "send", exitText(sent) + sendErrors(sent)});

        CommandResult verify = timedCli("verify --replica", concat({"verify", chain_.root(), "--replica", localReplica_,
                                                                    "--replica", sshReplica_, "--json"},
                                                                   reach()));
        std::string mismatches = replicaMismatches(verify, round, 2);
        if (verify.exitCode != 0 || !mismatches.empty())
            failures.push_back({"verify --replica", exitText(verify) + mismatches});

        auto rsyncStarted = std::chrono::steady_clock::now();
        for (std::uint64_t height = compared_; height <= round; ++height)
            for (const auto& [name, blocks] : {std::pair<std::string, std::string>{"local", localImage_.path("replica")},
                                               {"ssh", lab_.replicaPath(0, "replica")}}) {
                std::string copy = blocks + "/blocks/" + fs::path(chain_.block(height)).filename().string();
                std::string check = "rsync of block " + std::to_string(height) + " against the " + name + " replica";
                if (!fs::exists(copy)) {
                    failures.push_back({check, "the replica has no block " + std::to_string(height) + "\n" +
                                                   (name == "local" ? receiveByHand(height) : "")});
                    continue;
                }
                TreeComparison comparison = compareTrees(chain_.block(height), copy);
                if (!comparison.identical())
                    failures.push_back({check, comparison.describe()});
            }
        noteTime("rsync", rsyncStarted);
        if (failures.empty())
            compared_ = round + 1;
        return failures;
    }

    // A replica refused a block: is that btrfs receive making a different tree, or our
    // footprint of a good one? Receive the same incremental with the plain tools next to
    // the local replica's blocks and let rsync compare.
    std::string receiveByHand(std::uint64_t height) {
        if (height == 0)
            return "";
        std::string parent = localImage_.path("replica/blocks/" + fs::path(chain_.block(height - 1)).filename().string());
        if (!fs::exists(parent))
            return "";
        TempDir streamDir("stream");
        std::string stream = streamDir.path() + "/stream";
        std::string into = localImage_.path("by-hand");
        fs::create_directories(into);
        CommandResult send = run({"btrfs", "send", "-q", "--proto", "2", "-f", stream, "-p",
                                  chain_.block(height - 1), chain_.block(height)});
        CommandResult receive = run({"btrfs", "receive", "-f", stream, into});
        if (send.exitCode != 0 || receive.exitCode != 0)
            return "    by hand, btrfs send | btrfs receive failed: " + send.err + receive.err;
        std::string received = into + "/" + fs::path(chain_.block(height)).filename().string();
        TreeComparison comparison = compareTrees(chain_.block(height), received);
        run({"btrfs", "subvolume", "delete", received});
        if (comparison.identical())
            return "    by hand, btrfs send | btrfs receive makes a tree rsync finds identical: the replica's "
                   "footprint is what differs\n";
        return "    by hand, btrfs send | btrfs receive makes a different tree, as the replica's receive did:\n" +
               comparison.describe();
    }

    SeedOutcome outcome(std::size_t round, const std::vector<CheckFailure>& failures,
                        const std::vector<std::string>& log) const {
        std::string where = "seed " + std::to_string(seed_) + " round " + std::to_string(round);
        SeedOutcome result;
        result.summary = where + ": failed:";
        for (const auto& failure : failures) {
            result.summary += (&failure == &failures.front() ? " " : "; ") + failure.check;
            result.report += where + ": " + failure.check + " failed: " + failure.detail + "\n";
        }
        result.summary += "\n";
        result.report += "workload of " + where + " (replay: " + settings_.replayArguments(seed_, round) + "):\n" +
                         indented(log);
        return result;
    }

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

} // namespace

class TestFootprintDifferential : public QObject {
    Q_OBJECT
private slots:
    // The independent check must see each kind of difference it is trusted with,
    // and nothing between two identical trees (a snapshot and its source).
    void rsyncComparisonSeesEveryKindOfDifference() {
        BtrfsImage image(256);
        std::string original = image.path("original");
        mustRun({"btrfs", "subvolume", "create", original});
        populateAwkwardTree(original + "/tree");
        std::string copy = image.path("copy");
        mustRun({"btrfs", "subvolume", "snapshot", original, copy});
        TreeComparison same = compareTrees(original, copy);
        QVERIFY2(same.identical(), same.describe().c_str());

        // What changes, how, and a piece of the itemized line rsync must print for it.
        struct Change {
            std::string what;
            std::function<void(const std::string&)> apply;
            std::string expected;
        };
        const std::vector<Change> changes = {
            {"contents, same size and mtime", [](const std::string& dir) {
                 struct stat st {};
                 ::stat((dir + "/tree/plain.txt").c_str(), &st);
                 writeFile(dir + "/tree/plain.txt", std::string(100000, 'y'));
                 struct timespec times[2] = {st.st_atim, st.st_mtim};
                 ::utimensat(AT_FDCWD, (dir + "/tree/plain.txt").c_str(), times, 0);
             }, ">fc........ tree/"},
            {"mode", [](const std::string& dir) { ::chmod((dir + "/tree/modes").c_str(), 0751); },
             ".f...p..... tree/modes"},
            {"owner", [](const std::string& dir) { ::lchown((dir + "/tree/owned").c_str(), 1234, 5679); },
             ".f.....g... tree/owned"},
            {"mtime nanoseconds", [](const std::string& dir) {
                 struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 123456788}};
                 ::utimensat(AT_FDCWD, (dir + "/tree/plain.txt").c_str(), times, 0);
             }, "f..t...... tree/"},
            {"xattr value", [](const std::string& dir) {
                 ::setxattr((dir + "/tree/xattrs").c_str(), "user.colour", "bleu", 4, 0);
             }, ".f........x tree/xattrs"},
            {"hard link broken", [](const std::string& dir) {
                 fs::remove(dir + "/tree/hardlink-to-plain");
                 fs::copy_file(dir + "/tree/plain.txt", dir + "/tree/hardlink-to-plain");
             }, "hf          tree/plain.txt => tree/hardlink-to-plain"},
            {"device number", [](const std::string& dir) {
                 fs::remove(dir + "/tree/chardev");
                 ::mknod((dir + "/tree/chardev").c_str(), S_IFCHR | 0600, makedev(1, 5));
             }, "cDc.t...... tree/chardev"},
            {"symlink target", [](const std::string& dir) {
                 fs::remove(dir + "/tree/link-to-plain");
                 fs::create_symlink("modes", dir + "/tree/link-to-plain");
             }, "cLc.t...... tree/link-to-plain"},
            {"extra file", [](const std::string& dir) { writeFile(dir + "/tree/extra", ""); },
             "*deleting   tree/extra"},
            {"missing file", [](const std::string& dir) { fs::remove(dir + "/tree/new\nline"); },
             ">f+++++++++ tree/new\\#012line"},
        };
        for (const auto& change : changes) {
            std::string changed = image.path("changed");
            mustRun({"btrfs", "subvolume", "snapshot", original, changed});
            change.apply(changed);
            TreeComparison comparison = compareTrees(original, changed);
            QVERIFY2(comparison.ran, (change.what + ": " + comparison.error).c_str());
            bool seen = false;
            for (const auto& line : comparison.differences)
                seen = seen || line.find(change.expected) != std::string::npos;
            QVERIFY2(seen, (change.what + ": no line with \"" + change.expected + "\" in\n" + comparison.describe()).c_str());
            mustRun({"btrfs", "subvolume", "delete", changed});
        }
    }

    void footprintsAndReplicasAgreeWithEveryWorkload() {
        std::printf("differential run: %s\n", gSettings.describe().c_str());
        std::map<std::string, std::size_t> coverage;
        std::string failures; // one line per seed: Qt Test cuts long messages, the reports are printed whole
        for (std::size_t k = 0; k < gSettings.seeds; ++k) {
            std::uint64_t seed = gSettings.seed + k;
            DifferentialRun run(seed, gSettings);
            SeedOutcome outcome = run.runRounds();
            for (const auto& [name, count] : run.workload().operationCounts())
                coverage[name] += count;
            std::printf("%s", outcome.report.c_str());
            std::fflush(stdout);
            failures += outcome.summary;
        }
        std::string counts;
        for (const auto& [name, count] : coverage)
            counts += " " + name + "=" + std::to_string(count);
        std::printf("operations applied:%s\n", counts.c_str());
        QVERIFY2(failures.empty(), failures.c_str());
    }
};

int main(int argc, char** argv) {
    gSettings = takeDifferentialSettings(argc, argv);
    if (!isRoot()) {
        std::fprintf(stderr, "SKIP: system tests need root (loop devices and btrfs)\n");
        return 0;
    }
    enterPrivateMountNamespace();
    TestFootprintDifferential test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "test_footprint_differential.moc"
