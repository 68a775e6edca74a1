// init / commit / log / show / history / verify through the real CLI on real btrfs.
#include "core/btrfs/subvolumes.h"
#include "core/ledger/block_header.h"
#include "core/ledger/chain_identity.h"
#include "core/ledger/signing_key.h"
#include "tests/support/chain_fixture.h"

#include <algorithm>
#include <filesystem>
#include <fcntl.h>
#include <functional>
#include <sys/stat.h>
#include <unistd.h>

using namespace sctest;
namespace fs = std::filesystem;

namespace {

// Rewrite a block's header in place, as an attacker with root on the machine could.
void rewriteHeader(const std::string& block, const std::function<void(sc::BlockHeader&)>& change) {
    sc::btrfs::setReadOnly(block, false);
    std::string file = block + "/.streamchain/header.json";
    sc::BlockHeader header = sc::BlockHeader::parse(readFile(file), file);
    change(header);
    writeFile(file, header.toJson().dump(2));
    sc::btrfs::setReadOnly(block, true);
}

} // namespace

class TestLedgerCli : public QObject {
    Q_OBJECT
private slots:
    void initCreatesChain() {
        ChainFixture chain;
        QVERIFY(sc::btrfs::isSubvolume(chain.data()));
        QVERIFY(sc::btrfs::isSubvolume(chain.block(0)));
        QVERIFY(sc::btrfs::subvolumeInfo(chain.block(0)).readOnly);
        struct stat st {};
        QCOMPARE(::stat((chain.root() + "/.streamchain/chain.key").c_str(), &st), 0);
        QCOMPARE(st.st_mode & 0777, 0600u);
        auto identity = sc::ChainIdentity::load(chain.root() + "/.streamchain/chain.json");
        QCOMPARE(identity.publicKey.size(), 64u);
        QCOMPARE(identity.name, std::string("ledger"));
        auto log = cli({"log", chain.root(), "--json"});
        QCOMPARE(log.exitCode, 0);
        auto lines = jsonLines(log.out);
        QCOMPARE(lines.size(), 1u);
        QCOMPARE(lines[0]["height"].get<int>(), 0);
        QCOMPARE(lines[0]["previous"].get<std::string>(), std::string());
        QVERIFY2(lines[0]["timestamp"].is_string() && lines[0]["hash"].is_string(), log.out.c_str());
    }

    void blake2bChainsWork() {
        BtrfsImage image(256);
        std::string root = image.path("b2");
        QCOMPARE(cli({"init", root, "--hash", "blake2b512", "--name", "b2 chain"}).exitCode, 0);
        writeFile(root + "/data/x", "x");
        auto commit = cli({"commit", root, "--json"});
        QCOMPARE(commit.exitCode, 0);
        auto header = nlohmann::json::parse(commit.out);
        QCOMPARE(header["hash_algorithm"].get<std::string>(), std::string("blake2b512"));
        QCOMPARE(header["content_root"].get<std::string>().size(), 128u);
        QCOMPARE(cli({"verify", root, "--deep"}).exitCode, 0);
        auto bad = cli({"init", image.path("md5"), "--hash", "md5"});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY(!fs::exists(image.path("md5")));
    }

    void initRefusesBadPlaces() {
        BtrfsImage image(256);
        // Already a chain.
        QCOMPARE(cli({"init", image.path("c")}).exitCode, 0);
        auto again = cli({"init", image.path("c")});
        QCOMPARE(again.exitCode, 3);
        QVERIFY(contains(again.err, "already a streamchain chain"));
        // Not btrfs: /tmp is on the root filesystem here, not btrfs.
        TempDir plain("not-btrfs");
        auto notBtrfs = cli({"init", plain.path() + "/chain"});
        QCOMPARE(notBtrfs.exitCode, 3);
        QVERIFY(contains(notBtrfs.err, "not on a btrfs filesystem"));
        QVERIFY(!fs::exists(plain.path() + "/chain"));
        QVERIFY(fs::is_empty(plain.path()));
        // Not empty.
        fs::create_directories(image.path("full"));
        writeFile(image.path("full/x"), "x");
        QCOMPARE(cli({"init", image.path("full")}).exitCode, 3);
        QVERIFY(!fs::exists(image.path("full/data")));
        // Not writable: a read-only bind mount of the btrfs.
        std::string ro = uniqueTempPath("ro");
        fs::create_directories(ro);
        mustRun({"mount", "--bind", "-o", "ro", image.mountPoint(), ro});
        mustRun({"mount", "-o", "remount,bind,ro", ro});
        auto readOnly = cli({"init", ro + "/chain2"});
        QCOMPARE(readOnly.exitCode, 3);
        QVERIFY(contains(readOnly.err, "not writable"));
        mustRun({"umount", ro});
        QVERIFY(!fs::exists(image.path("chain2")));
        // Nothing else appeared on the filesystem (no scratch directories left).
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(image.mountPoint()))
            names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        QVERIFY(names == (std::vector<std::string>{"c", "full"}));
        fs::remove(ro);
    }

    void commitMakesSignedLinkedBlocks() {
        ChainFixture chain;
        writeFile(chain.data("a.txt"), "hello\n");
        auto b1 = chain.commit("first", {"--op", R"({"op":"set","element":"port:eth0","vlan":10})"});
        QCOMPARE(b1["height"].get<int>(), 1);
        QVERIFY(b1["elements"] == nlohmann::json::array({"port:eth0"}));
        writeFile(chain.data("b.txt"), "world\n");
        auto b2 = chain.commit("second", {"--element", "port:eth1"});
        QCOMPARE(b2["previous"].get<std::string>(), b1["hash"].get<std::string>());
        QVERIFY(b2["footprint"]["incremental"].get<bool>());
        QVERIFY(sc::btrfs::subvolumeInfo(chain.block(2)).readOnly);
        QVERIFY(chain.stagingEntries().empty());

        auto show = cli({"show", chain.root(), "2", "--changes", "--json"});
        QCOMPARE(show.exitCode, 0);
        auto shown = nlohmann::json::parse(show.out);
        QVERIFY(shown["signature_valid"].get<bool>());
        QVERIFY2(shown["changes"] == nlohmann::json::parse(R"([{"kind":"added","path":"b.txt"}])"), show.out.c_str());

        auto history = cli({"history", chain.root(), "port:eth0", "--json"});
        QCOMPARE(history.exitCode, 0);
        auto lines = jsonLines(history.out);
        QCOMPARE(lines.size(), 1u);
        QCOMPARE(lines[0]["height"].get<int>(), 1);
        QCOMPARE(lines[0]["operations"][0]["vlan"].get<int>(), 10);

        auto verify = cli({"verify", chain.root(), "--deep"});
        QCOMPARE(verify.exitCode, 0);
        QVERIFY(contains(verify.out, "3 blocks"));
    }

    void badCommitInputChangesNothing() {
        ChainFixture chain;
        auto before = chain.blockNames();
        auto bad = cli({"commit", chain.root(), "--op", "{not json"});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY(contains(bad.err, "not valid JSON"));
        auto notObject = cli({"commit", chain.root(), "--op", "[1,2]"});
        QCOMPARE(notObject.exitCode, 2);
        QVERIFY(contains(notObject.err, "not a JSON object"));
        auto missing = cli({"commit", chain.root() + "-nope"});
        QCOMPARE(missing.exitCode, 3);
        QVERIFY(chain.blockNames() == before);
        QVERIFY(chain.stagingEntries().empty());
        auto badHeight = cli({"show", chain.root(), "7"});
        QCOMPARE(badHeight.exitCode, 2);
        QVERIFY(contains(badHeight.err, "no block 7"));
    }

    // SIGKILL at every point of a commit: the chain verifies (deep) after each, no partial
    // block shows, and the next commit is clean.
    void killedCommitLeavesChainConsistent() {
        ChainFixture chain;
        writeFile(chain.data("f"), "1");
        fs::create_directories(chain.data("d"));
        writeFile(chain.data("d/x"), "linked");
        ::link(chain.data("d/x").c_str(), chain.data("y").c_str());
        chain.commit("base");
        std::size_t blocks = 2;
        for (const char* point : {"commit-after-snapshot", "commit-after-footprint", "header-directory-created",
                                  "commit-header-written", "commit-before-publish", "commit-after-publish"}) {
            writeFile(chain.data("d/x"), std::string("changed before ") + point); // through one name of two
            auto killed = cli({"commit", chain.root(), "-m", "doomed"}, {std::string("STREAMCHAIN_FAULT=") + point});
            QVERIFY2(killed.exitCode != 0, point);
            // Killed after the rename, the block is complete (only its footprint record is missing).
            if (std::string(point) == "commit-after-publish")
                ++blocks;
            QVERIFY2(chain.blockNames().size() == blocks, point);
            auto deep = cli({"verify", chain.root(), "--deep"});
            QVERIFY2(deep.exitCode == 0, (std::string(point) + ": " + deep.out).c_str());
            auto next = chain.commit(std::string("after a crash at ") + point);
            QCOMPARE(next["height"].get<std::size_t>(), blocks++);
            QVERIFY2(chain.stagingEntries().empty(), point);
            for (const auto& name : namesIn(chain.root() + "/.streamchain/footprints")) // no unfinished record left
                QVERIFY2(!contains(name, ".tmp-"), (std::string(point) + ": " + name).c_str());
            deep = cli({"verify", chain.root(), "--deep"});
            QVERIFY2(deep.exitCode == 0, (std::string(point) + ", next commit: " + deep.out).c_str());
        }
    }

    // A footprint record is a cache: when it cannot be written the commit still succeeds,
    // and the next one hashes in full instead of building on it.
    void anUnwritableRecordCostsAFullHashNotTheCommit() {
        ChainFixture chain;
        writeFile(chain.data("f"), "1");
        chain.commit("base");
        writeFile(chain.data("g"), "2");
        auto unrecorded = cli({"commit", chain.root(), "-m", "no record", "--json"},
                              {"STREAMCHAIN_FAULT=footprint-record-unwritable"});
        QVERIFY2(unrecorded.exitCode == 0, unrecorded.err.c_str());
        writeFile(chain.data("h"), "3");
        nlohmann::json next = chain.commit("after");
        QVERIFY2(!next.at("footprint").at("incremental").get<bool>(), next.dump().c_str());
        for (const auto& name : namesIn(chain.root() + "/.streamchain/footprints"))
            QVERIFY2(!contains(name, ".tmp-"), name.c_str());
        auto deep = cli({"verify", chain.root(), "--deep"});
        QVERIFY2(deep.exitCode == 0, deep.out.c_str());
        nlohmann::json last = chain.commit("and on");
        QVERIFY2(last.at("footprint").at("incremental").get<bool>(), last.dump().c_str());
    }

    // A full filesystem at any step of a commit fails it with a clear error and leaves the
    // chain verifiable; once there is room again, the next commit is clean.
    void fullFilesystemFailsACommitCleanly() {
        ChainFixture chain(256);
        writeFile(chain.data("f"), "1");
        chain.commit("before");
        std::vector<std::string> fillers;
        auto fill = [&] {
            for (int i = 0;; ++i) {
                // Beside the chain on its filesystem, so no block holds on to the space.
                std::string path = chain.image().path("filler-" + std::to_string(fillers.size()));
                fillers.push_back(path);
                int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
                std::string chunk(1 << 20, 'z');
                bool full = false;
                for (int k = 0; k < 64 && !full; ++k)
                    full = ::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size());
                ::close(fd);
                if (full || i > 400)
                    return;
            }
        };
        fill();
        ::sync();
        int failures = 0;
        for (int attempt = 0; attempt < 3; ++attempt) {
            auto result = cli({"commit", chain.root(), "-m", "on a full disk"});
            if (result.exitCode != 0) {
                ++failures;
                QVERIFY2(contains(result.err, "No space left") || contains(result.err, "space"), result.err.c_str());
            }
            QVERIFY(chain.stagingEntries().empty());
            QCOMPARE(cli({"verify", chain.root()}).exitCode, 0);
        }
        QVERIFY2(failures > 0, "the filesystem never filled up");
        for (const auto& path : fillers)
            fs::remove(path);
        ::sync();
        auto next = chain.commit("room again");
        QVERIFY(chain.stagingEntries().empty());
        QCOMPARE(cli({"verify", chain.root(), "--deep"}).exitCode, 0);
        QVERIFY(next["height"].get<int>() >= 2);
    }

    void verifyCatchesForgeryAndBrokenLinks() {
        ChainFixture chain;
        for (int i = 1; i <= 3; ++i) {
            writeFile(chain.data("f" + std::to_string(i)), std::to_string(i));
            chain.commit("block " + std::to_string(i));
        }
        QCOMPARE(cli({"verify", chain.root()}).exitCode, 0);
        // Forged header: the message changed, the signature kept.
        rewriteHeader(chain.block(2), [](sc::BlockHeader& h) { h.message = "forged"; });
        auto forged = cli({"verify", chain.root()});
        QCOMPARE(forged.exitCode, 4);
        QVERIFY(contains(forged.out, "BAD block 2: signature does not verify"));
        // Broken link, even when re-signed with the real key.
        auto key = sc::SigningKey::load(chain.root() + "/.streamchain/chain.key");
        rewriteHeader(chain.block(2), [&](sc::BlockHeader& h) {
            h.message = "block 2";
            h.previous = std::string(64, '0');
            h.sign(key);
        });
        auto broken = cli({"verify", chain.root(), "--json"});
        QCOMPARE(broken.exitCode, 4);
        auto report = nlohmann::json::parse(broken.out);
        QVERIFY2(report["ok"] == false && report["blocks_checked"].is_number() && !report.contains("blocks"),
                 broken.out.c_str());
        bool linkReported = false;
        for (const auto& f : report["findings"])
            linkReported |= f["height"] == 2 && contains(f["problem"].get<std::string>(), "broken link");
        QVERIFY2(linkReported, broken.out.c_str());
    }

    void deepVerifyNamesPathsInOldBlocks() {
        ChainFixture chain;
        for (int i = 1; i <= 35; ++i) {
            writeFile(chain.data("counter.txt"), std::to_string(i));
            if (i % 5 == 0)
                writeFile(chain.data("file" + std::to_string(i)), "f");
            chain.commit("block " + std::to_string(i));
        }
        // Block 5 is rebuilt from deltas since genesis, block 33 from the checkpoint at 32.
        for (int height : {5, 33}) {
            sc::btrfs::setReadOnly(chain.block(static_cast<std::uint64_t>(height)), false);
            writeFile(chain.block(static_cast<std::uint64_t>(height)) + "/file5", "tampered");
            sc::btrfs::setReadOnly(chain.block(static_cast<std::uint64_t>(height)), true);
        }
        auto deep = cli({"verify", chain.root(), "--deep", "--json"});
        QCOMPARE(deep.exitCode, 4);
        auto report = nlohmann::json::parse(deep.out);
        QCOMPARE(report["findings"].size(), 2u);
        for (const auto& finding : report["findings"]) {
            QVERIFY2(finding["height"] == 5 || finding["height"] == 33, deep.out.c_str());
            QVERIFY2(finding["paths"] == nlohmann::json::array({"file5"}), deep.out.c_str());
        }
    }

    void deepVerifyNamesTamperedPath() {
        ChainFixture chain;
        writeFile(chain.data("ok.txt"), "fine");
        writeFile(chain.data("victim.txt"), "original");
        chain.commit("one");
        QCOMPARE(cli({"verify", chain.root(), "--deep"}).exitCode, 0);
        sc::btrfs::setReadOnly(chain.block(1), false);
        writeFile(chain.block(1) + "/victim.txt", "Original");
        sc::btrfs::setReadOnly(chain.block(1), true);
        QCOMPARE(cli({"verify", chain.root()}).exitCode, 0); // headers alone cannot see it
        auto deep = cli({"verify", chain.root(), "--deep"});
        QCOMPARE(deep.exitCode, 4);
        QVERIFY2(contains(deep.out, "BAD block 1: contents differ"), deep.out.c_str());
        QVERIFY2(contains(deep.out, "victim.txt"), deep.out.c_str());
        QVERIFY(!contains(deep.out, "ok.txt"));
    }

    // Blocks that streamchain 0.1 signed with a stale root (a change through one name of a
    // hard-linked file footprinted under that name only) are told apart from tampering.
    void deepVerifyExplainsStaleRootsOfOldVersions() {
        ChainFixture chain;
        fs::create_directories(chain.data("a"));
        fs::create_directories(chain.data("b"));
        writeFile(chain.data("a/x"), "hello");
        ::link(chain.data("a/x").c_str(), chain.data("b/y").c_str());
        chain.commit("one");
        writeFile(chain.data("a/x"), "hello, more");
        auto old = cli({"commit", chain.root(), "-m", "as 0.1 did", "--json"},
                       {"STREAMCHAIN_FAULT=footprint-one-name-per-inode"});
        QCOMPARE(old.exitCode, 0);
        auto deep = cli({"verify", chain.root(), "--deep"});
        QCOMPARE(deep.exitCode, 4);
        QVERIFY2(contains(deep.out, "BAD block 2: signed with a stale footprint"), deep.out.c_str());
        QVERIFY2(contains(deep.out, "not tampering") && contains(deep.out, "what to do: "), deep.out.c_str());
        auto json = jsonLines(cli({"verify", chain.root(), "--deep", "--json"}).out).front();
        QVERIFY2(json["findings"][0].contains("advice"), json.dump().c_str());
        // Tampering with such a block is still tampering.
        sc::btrfs::setReadOnly(chain.block(2), false);
        writeFile(chain.block(2) + "/a/x", "forged");
        sc::btrfs::setReadOnly(chain.block(2), true);
        deep = cli({"verify", chain.root(), "--deep"});
        QVERIFY2(contains(deep.out, "BAD block 2: contents differ"), deep.out.c_str());
        QVERIFY(!contains(deep.out, "stale"));
    }
};

STREAMCHAIN_SYSTEM_TEST_MAIN(TestLedgerCli)
#include "test_ledger_cli.moc"
