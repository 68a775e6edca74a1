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
// The chain uses footprint format 2 (files hashed in 1 MiB chunks) unless told
// --footprint-format 1; the workload keeps files spanning several chunks and aims
// many changes at chunk boundaries.
//
// Options (before Qt Test's own): --seed S|random, --seeds K (a soak over K seeds),
// --rounds N, --operations N, --huge-sparse-every N, --footprint-format 1|2, and
// --no-hard-links and --no-setid-after-chown to look past known failures; or the
// STREAMCHAIN_DIFF_* variables (tests/support/differential_settings.h).
#include "tests/support/chain_fixture.h"
#include "tests/support/differential_run.h"
#include "tests/support/differential_settings.h"
#include "tests/support/rsync_comparison.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <map>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace sctest;
namespace fs = std::filesystem;

namespace {

DifferentialSettings gSettings; // set by main before the tests run

// A change made to a copy of populateAwkwardTree's tree, and a piece of the
// itemized line rsync must print for it.
struct Change {
    std::string what;
    std::function<void(const std::string&)> apply;
    std::string expected;
};

std::vector<Change> differencesRsyncMustReport() {
    return {
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
}

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

        for (const auto& change : differencesRsyncMustReport()) {
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
        std::vector<std::string> operationNames;
        for (std::size_t k = 0; k < gSettings.seeds; ++k) {
            std::uint64_t seed = gSettings.seed + k;
            DifferentialRun run(seed, gSettings);
            operationNames = run.workload().operationNames();
            SeedOutcome outcome = run.runRounds();
            for (const auto& [name, count] : run.workload().operationCounts())
                coverage[name] += count;
            std::printf("%s", outcome.report.c_str());
            std::fflush(stdout);
            failures += outcome.summary;
        }
        std::string counts, missing;
        for (const auto& [name, count] : coverage)
            counts += " " + name + "=" + std::to_string(count);
        for (const auto& name : operationNames)
            if (!coverage.count(name))
                missing += " " + name;
        std::printf("operations applied:%s\n", counts.c_str());
        QVERIFY2(failures.empty(), failures.c_str());
        // A run that held must also have tried every kind of change.
        QVERIFY2(missing.empty() || gSettings.rounds * gSettings.operations < operationNames.size(),
                 ("never applied:" + missing).c_str());
    }
};

int main(int argc, char** argv) {
    gSettings = takeDifferentialSettings(argc, argv);
    if (!isRoot()) {
        std::fprintf(stderr, "SKIP: system tests need root (loop devices and btrfs)\n");
        return 0;
    }
    enterPrivateMountNamespace();
    // Qt Test aborts a test function after 5 minutes, which a soak outlasts; ctest's
    // own timeout still bounds the CI run. Generous: a round takes seconds.
    if (!std::getenv("QTEST_FUNCTION_TIMEOUT")) {
        std::size_t milliseconds = std::max<std::size_t>(300000, gSettings.seeds * gSettings.rounds * 120000);
        ::setenv("QTEST_FUNCTION_TIMEOUT", std::to_string(milliseconds).c_str(), 1);
    }
    TestFootprintDifferential test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "test_footprint_differential.moc"
