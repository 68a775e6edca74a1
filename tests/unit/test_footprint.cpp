// Footprint trees on real files (an ordinary directory): which fields count,
// incremental updates equal full ones, records round-trip, diffs name paths.
#include "core/base/error.h"
#include "core/footprint/footprint.h"
#include "core/footprint/footprint_records.h"
#include "tests/support/btrfs_fixture.h"

#include <QTest>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <map>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace sc;
using sctest::TempDir;
using sctest::writeFile;
namespace fs = std::filesystem;

namespace {

std::string rootOf(const std::string& dir) { return computeFootprint(dir, {}).root().hex(); }

void setMtime(const std::string& path, long seconds, long nanos) {
    struct timespec t[2] = {{seconds, nanos}, {seconds, nanos}};
    ::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW);
}

// Build a tree whose directory mtimes are pinned, so only the change under test moves the root.
void makeTree(const std::string& d) {
    fs::create_directories(d + "/sub/deep");
    writeFile(d + "/a.txt", "alpha");
    writeFile(d + "/sub/b.txt", "bravo");
    writeFile(d + "/sub/deep/c.txt", "charlie");
    fs::create_symlink("a.txt", d + "/link");
}

void pinDirectories(const std::string& d) {
    for (auto& e : fs::recursive_directory_iterator(d))
        if (e.is_directory() && !e.is_symlink())
            setMtime(e.path().string(), 1700000000, 0);
    setMtime(d, 1700000000, 0);
}

} // namespace

class TestFootprint : public QObject {
    Q_OBJECT
private slots:
    void deterministicAndSensitiveToEachField() {
        TempDir t("fp");
        std::string d = t.path();
        makeTree(d);
        pinDirectories(d);
        std::string base = rootOf(d);
        QCOMPARE(rootOf(d), base);

        auto expectChange = [&](const char* what, const std::function<void()>& change,
                                const std::function<void()>& undo) {
            change();
            pinDirectories(d);
            QVERIFY2(rootOf(d) != base, what);
            undo();
            pinDirectories(d);
            QVERIFY2(rootOf(d) == base, what);
        };
        struct stat st {};
        ::lstat((d + "/a.txt").c_str(), &st);
        expectChange("content", [&] { writeFile(d + "/a.txt", "alphA"); },
                     [&] { writeFile(d + "/a.txt", "alpha"); setMtime(d + "/a.txt", st.st_mtim.tv_sec, st.st_mtim.tv_nsec); });
        expectChange("mtime", [&] { setMtime(d + "/a.txt", 5, 1); },
                     [&] { setMtime(d + "/a.txt", st.st_mtim.tv_sec, st.st_mtim.tv_nsec); });
        expectChange("mode", [&] { ::chmod((d + "/a.txt").c_str(), 0600); },
                     [&] { ::chmod((d + "/a.txt").c_str(), st.st_mode & 07777); });
        expectChange("uid", [&] { QCOMPARE(::lchown((d + "/a.txt").c_str(), 4242, static_cast<gid_t>(-1)), 0); },
                     [&] { QCOMPARE(::lchown((d + "/a.txt").c_str(), st.st_uid, static_cast<gid_t>(-1)), 0); });
        expectChange("gid", [&] { QCOMPARE(::lchown((d + "/a.txt").c_str(), static_cast<uid_t>(-1), 4343), 0); },
                     [&] { QCOMPARE(::lchown((d + "/a.txt").c_str(), static_cast<uid_t>(-1), st.st_gid), 0); });
        expectChange("xattr", [&] { QCOMPARE(::setxattr((d + "/a.txt").c_str(), "user.k", "v", 1, 0), 0); },
                     [&] { ::removexattr((d + "/a.txt").c_str(), "user.k"); });
        struct stat lst {};
        ::lstat((d + "/link").c_str(), &lst);
        expectChange("symlink target", [&] { fs::remove(d + "/link"); fs::create_symlink("sub", d + "/link"); },
                     [&] { fs::remove(d + "/link"); fs::create_symlink("a.txt", d + "/link");
                           setMtime(d + "/link", lst.st_mtim.tv_sec, lst.st_mtim.tv_nsec); });
        expectChange("new empty dir", [&] { fs::create_directory(d + "/sub/empty"); },
                     [&] { fs::remove(d + "/sub/empty"); });
        expectChange("fifo", [&] { ::mkfifo((d + "/fifo").c_str(), 0600); }, [&] { fs::remove(d + "/fifo"); });
        expectChange("device", [&] { ::mknod((d + "/dev").c_str(), S_IFCHR | 0600, makedev(1, 3)); },
                     [&] { fs::remove(d + "/dev"); });

        // ctime and atime never count.
        ::chmod((d + "/a.txt").c_str(), st.st_mode & 07777); // bumps ctime only
        struct timespec atimeOnly[2] = {{12345, 0}, {0, UTIME_OMIT}};
        ::utimensat(AT_FDCWD, (d + "/a.txt").c_str(), atimeOnly, 0);
        QCOMPARE(rootOf(d), base);
        // The excluded root name does not count.
        fs::create_directories(d + "/.streamchain");
        writeFile(d + "/.streamchain/header.json", "{}");
        pinDirectories(d);
        QCOMPARE(rootOf(d), base);
    }

    void awkwardNamesAndSparseFiles() {
        TempDir t("fp-names");
        std::string d = t.path();
        writeFile(d + "/sp ace \"q\" 'q'", "1");
        writeFile(d + "/new\nline", "2");
        writeFile(d + std::string("/\xff\xfe"), "3");
        // A sparse file hashes like the same bytes written densely.
        int fd = ::open((d + "/sparse").c_str(), O_CREAT | O_WRONLY, 0644);
        QVERIFY(::ftruncate(fd, 64 << 20) == 0 && ::pwrite(fd, "x", 1, 32 << 20) == 1);
        ::close(fd);
        std::string dense(64 << 20, '\0');
        dense[32 << 20] = 'x';
        FootprintStats stats;
        FootprintTree tree = computeFootprint(d, {}, &stats);
        QCOMPARE(tree.counts().files, 4u);
        QCOMPARE(stats.filesHashed, 4u);
        QVERIFY(tree.find("new\nline") != nullptr);
        QVERIFY(tree.find("\xff\xfe") != nullptr);
        // Entry digests cover metadata too: compare with a dense twin that has the same metadata.
        writeFile(d + "/dense", dense);
        struct stat st {};
        ::lstat((d + "/sparse").c_str(), &st);
        ::chmod((d + "/dense").c_str(), st.st_mode & 07777);
        setMtime(d + "/dense", st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        FootprintTree both = computeFootprint(d, {});
        QVERIFY(both.at("dense").digest == both.at("sparse").digest);
    }

    void incrementalEqualsFull() {
        TempDir t("fp-inc");
        std::string d = t.path();
        makeTree(d);
        for (int i = 0; i < 50; ++i)
            writeFile(d + "/sub/f" + std::to_string(i), std::string(1000, static_cast<char>('a' + i % 26)));
        FootprintTree before = computeFootprint(d, {});
        writeFile(d + "/sub/deep/c.txt", "changed");
        fs::rename(d + "/sub/f3", d + "/renamed");
        fs::remove(d + "/sub/f4");
        auto command = [](SendCommandType type, std::string path, std::string to = {}) {
            SendCommand c;
            c.type = type;
            c.path = std::move(path);
            c.pathTo = std::move(to);
            return c;
        };
        ChangeSet changes;
        changes.add(command(SendCommandType::Write, "sub/deep/c.txt"));
        changes.add(command(SendCommandType::Rename, "sub/f3", "renamed"));
        changes.add(command(SendCommandType::Unlink, "sub/f4"));
        FootprintStats stats;
        FootprintTree after = updateFootprint(d, "", before, changes, {}, &stats);
        QCOMPARE(after.root().hex(), computeFootprint(d, {}).root().hex());
        QVERIFY(stats.entriesReused > 40);
        QVERIFY(stats.filesHashed <= 3);

        // A stale cache guard forces a re-hash even when the ChangeSet says nothing.
        writeFile(d + "/a.txt", "sneaky");
        FootprintStats guarded;
        FootprintTree sneaky = updateFootprint(d, "", after, ChangeSet{}, {}, &guarded);
        QCOMPARE(sneaky.root().hex(), computeFootprint(d, {}).root().hex());
    }

    // The kernel's diff names a changed inode under one of its names; every other name,
    // in directories the diff never mentions, must be re-hashed too, and nothing more.
    void aChangeThroughOneHardLinkReachesEveryName() {
        TempDir t("fp-links");
        std::string d = t.path();
        makeTree(d);
        fs::create_directories(d + "/other/deeper");
        for (int i = 0; i < 30; ++i)
            writeFile(d + "/other/f" + std::to_string(i), "unrelated " + std::to_string(i));
        writeFile(d + "/sub/x", "hello");
        fs::create_hard_link(d + "/sub/x", d + "/other/deeper/y");
        fs::create_hard_link(d + "/sub/x", d + "/z");
        FootprintTree before = computeFootprint(d, {});
        SendCommand write;
        write.type = SendCommandType::Write;
        write.path = "sub/x";
        ChangeSet changes;
        changes.add(write);

        auto check = [&](const char* what) {
            FootprintStats stats;
            FootprintTree after = updateFootprint(d, "", before, changes, {}, &stats);
            QVERIFY2(after.root() == computeFootprint(d, {}).root(), what);
            QVERIFY2(stats.entriesReused > 30, what);  // other/f* stay reused
            QVERIFY2(stats.filesHashed <= 5, what);
            before = after;
        };
        writeFile(d + "/sub/x", "hello, changed"); // content through one name
        check("content");
        ::setxattr((d + "/sub/x").c_str(), "user.k", "v", 1, 0);
        check("xattr");
        ::chmod((d + "/sub/x").c_str(), 0600);
        check("mode");
        // The name the diff gives is no longer a link: its old siblings come from the record.
        fs::remove(d + "/z");
        fs::remove(d + "/other/deeper/y");
        changes = ChangeSet{};
        SendCommand unlink;
        unlink.type = SendCommandType::Unlink;
        unlink.path = "z";
        changes.add(unlink);
        changes.add(write);
        check("unlinked siblings");
    }

    // Bounds from a block's header: a file larger than the whole block is never read (a
    // 1 TiB sparse file costs nothing) yet a diff still names it; more work throws.
    void boundsKeepTheWorkToWhatTheHeaderDeclares() {
        TempDir t("fp-bounds");
        std::string d = t.path();
        makeTree(d);
        FootprintTree honest = computeFootprint(d, {});
        int fd = ::open((d + "/sparse").c_str(), O_WRONLY | O_CREAT, 0644);
        QVERIFY(fd >= 0 && ::pwrite(fd, "x", 1, std::int64_t{1} << 40) == 1);
        ::close(fd);
        FootprintOptions bounded;
        bounded.maxFileBytes = 1000;
        FootprintStats stats;
        FootprintTree tree = computeFootprint(d, bounded, &stats);
        QVERIFY(stats.bytesHashed < 1000);
        std::vector<std::string> named;
        for (const auto& difference : diffFootprints(honest, tree))
            named.push_back(difference.path);
        QCOMPARE(named, std::vector<std::string>{"sparse"});
        FootprintOptions fewBytes;
        fewBytes.maxHashBytes = 5;
        QVERIFY_THROWS_EXCEPTION(UnhashableBlock, computeFootprint(d, fewBytes));
        FootprintOptions fewEntries;
        fewEntries.maxEntries = 3;
        QVERIFY_THROWS_EXCEPTION(UnhashableBlock, computeFootprint(d, fewEntries));
    }

    void recordsRoundTripAndRejectDamage() {
        TempDir t("fp-rec");
        makeTree(t.path() + "/tree");
        FootprintTree tree = computeFootprint(t.path() + "/tree", {});
        std::string file = t.path() + "/tree.fp";
        tree.save(file);
        FootprintTree loaded = FootprintTree::load(file);
        QCOMPARE(loaded.root().hex(), tree.root().hex());
        QCOMPARE(loaded.size(), tree.size());
        std::string bytes = sctest::readFile(file);
        writeFile(file, bytes.substr(0, bytes.size() / 2));
        QVERIFY_THROWS_EXCEPTION(Error, FootprintTree::load(file));
        bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 1);
        writeFile(file, bytes);
        QVERIFY_THROWS_EXCEPTION(Error, FootprintTree::load(file));
    }

    void recordsKeepEveryBlockAsDeltas() {
        TempDir t("fp-records");
        std::string d = t.path() + "/tree";
        makeTree(d);
        FootprintRecords records(t.path());
        std::vector<FootprintTree> trees;
        for (std::uint64_t h = 0; h < 40; ++h) {
            writeFile(d + "/n" + std::to_string(h % 7), std::to_string(h));
            if (h == 20)
                fs::remove_all(d + "/sub");
            trees.push_back(computeFootprint(d, {}));
            records.save(h, trees.back(), /*againstParent=*/h > 0);
        }
        for (std::uint64_t h : {0u, 1u, 19u, 20u, 31u, 32u, 39u}) {
            auto loaded = records.load(h);
            QVERIFY(loaded.has_value());
            QCOMPARE(loaded->root().hex(), trees[h].root().hex());
            QCOMPARE(loaded->size(), trees[h].size());
            QVERIFY(diffFootprints(*loaded, trees[h]).empty());
        }
        QVERIFY(!records.load(40).has_value());
        // A delta record reaches back to the last complete one: losing it loses the tree, not correctness.
        fs::remove(t.path() + "/000000000010.fpd");
        QVERIFY(!records.load(12).has_value());
        QVERIFY(records.load(33).has_value()); // after the checkpoint at 32
    }

    void diffNamesChangedPaths() {
        TempDir t("fp-diff");
        std::string d = t.path();
        makeTree(d);
        FootprintTree before = computeFootprint(d, {});
        writeFile(d + "/sub/deep/c.txt", "Charlie");
        writeFile(d + "/added", "+");
        fs::remove(d + "/sub/b.txt");
        auto diff = diffFootprints(before, computeFootprint(d, {}));
        std::map<std::string, DifferenceKind> got;
        for (const auto& x : diff)
            got[x.path] = x.kind;
        QVERIFY(got.count("sub/deep/c.txt") && got["sub/deep/c.txt"] == DifferenceKind::Changed);
        QVERIFY(got.count("added") && got["added"] == DifferenceKind::Added);
        QVERIFY(got.count("sub/b.txt") && got["sub/b.txt"] == DifferenceKind::Removed);
        QVERIFY(!got.count("a.txt"));
        QVERIFY(diffFootprints(before, before).empty());
    }

    void displayPathEscapes() {
        QCOMPARE(displayPath(""), std::string("/"));
        QCOMPARE(displayPath("a b"), std::string("a b"));
        QCOMPARE(displayPath("new\nline"), std::string("new\\nline"));
        QCOMPARE(displayPath("back\\slash"), std::string("back\\\\slash"));
        QCOMPARE(displayPath("\xff"), std::string("\\xff"));
        QCOMPARE(displayPath("caf\xc3\xa9"), std::string("caf\xc3\xa9"));
    }
};

QTEST_APPLESS_MAIN(TestFootprint)
#include "test_footprint.moc"
