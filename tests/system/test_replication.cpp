// send / verify --replica on real btrfs: footprints survive send→receive, tampering
// is caught, fan-out with zstd, a failing target fails alone, bad input changes nothing.
#include "core/btrfs/kernel_diff.h"
#include "core/btrfs/kernel_send.h"
#include "core/btrfs/subvolumes.h"
#include "core/footprint/footprint.h"
#include "core/ledger/chain.h"
#include "tests/support/chain_fixture.h"

#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

using namespace sctest;
namespace fs = std::filesystem;

namespace {

nlohmann::json lastEvent(const CommandResult& result, const std::string& kind) {
    nlohmann::json found;
    for (const auto& line : jsonLines(result.out))
        if (line["event"] == kind)
            found = line;
    return found;
}

} // namespace

class TestReplication : public QObject {
    Q_OBJECT
private slots:
    void footprintSurvivesFullAndIncrementalSends() {
        ChainFixture chain;
        BtrfsImage other(768);
        std::string target = other.path("replica");
        populateAwkwardTree(chain.data("tree"));
        writeFile(chain.data("tree/dense.bin"), mustRun({"head", "-c", "8000000", "/dev/urandom"}));
        chain.commit("awkward tree");
        auto full = cli({"send", chain.root(), "--to", target, "--json"});
        QVERIFY2(full.exitCode == 0, full.err.c_str());
        // The planned total comes from what commit recorded, not from a second send: it is
        // still within a few percent of the bytes that went.
        double planned = static_cast<double>(lastEvent(full, "planned")["bytes_total"].get<std::uint64_t>());
        double sent = static_cast<double>(lastEvent(full, "finished")["bytes_done"].get<std::uint64_t>());
        QVERIFY2(planned > sent * 0.9 && planned < sent * 1.1, full.out.c_str());
        // Every progress line has an ETA; the summary names what each target received.
        QVERIFY2(lastEvent(full, "finished").contains("eta_seconds"), full.out.c_str());
        nlohmann::json summary = lastEvent(full, "summary");
        QVERIFY2(summary["targets"][0]["blocks_received"] == 2 && summary["all_ok"] == true, full.out.c_str());
        QVERIFY(fs::exists(chain.root() + "/.streamchain/footprints/000000000001.stream-bytes"));
        auto first = cli({"verify", chain.root(), "--replica", target, "--json"});
        QVERIFY2(first.exitCode == 0, first.out.c_str());
        QVERIFY(replicaStates(first) == (std::map<int, std::string>{{0, "MATCH"}, {1, "MATCH"}}));
        nlohmann::json totals = jsonLines(first.out).back();
        QVERIFY2(totals["all_match"] == true && totals["counts"]["MATCH"] == 2 && !totals.contains("ok"),
                 first.out.c_str());

        // Incremental changes of every kind.
        writeFile(chain.data("tree/plain.txt"), "changed contents");
        fs::rename(chain.data("tree/with space"), chain.data("tree/renamed dir"));
        fs::remove(chain.data("tree/hardlink-to-plain"));
        fs::remove(chain.data("tree/link-to-plain"));
        fs::create_symlink("modes", chain.data("tree/link-to-plain"));
        ::chmod(chain.data("tree/modes").c_str(), 0600);
        ::setxattr(chain.data("tree/xattrs").c_str(), "user.colour", "green", 5, 0);
        ::removexattr(chain.data("tree/xattrs").c_str(), "user.empty");
        int fd = ::open(chain.data("tree/sparse.img").c_str(), O_WRONLY);
        QVERIFY(::pwrite(fd, "middle", 6, 128 << 20) == 6);
        ::close(fd);
        fs::create_directories(chain.data("tree/empty-dir/now not empty"));
        // Punching a hole into written data: protocol 1 would send it as 7 MB of zeros.
        mustRun({"fallocate", "--punch-hole", "--offset", "0", "--length", "7000000", chain.data("tree/dense.bin")});
        auto inc = chain.commit("every kind of change");
        QVERIFY(inc["footprint"]["incremental"].get<bool>());

        // The incremental footprint equals a from-scratch re-hash of the block.
        sc::Chain opened = sc::Chain::open(chain.root());
        sc::FootprintTree scratch = sc::computeFootprint(chain.block(2), opened.footprintOptions());
        QCOMPARE(scratch.root().hex(), inc["content_root"].get<std::string>());

        auto incSend = cli({"send", chain.root(), "--to", target, "--json"});
        QVERIFY2(incSend.exitCode == 0, incSend.err.c_str());
        auto started = lastEvent(incSend, "block_started");
        QCOMPARE(started["parent"].get<int>(), 1); // incremental, parent matched by UUID
        // Sparse files do not inflate the incremental stream.
        QVERIFY2(lastEvent(incSend, "finished")["bytes_done"].get<std::uint64_t>() < (4u << 20),
                 incSend.out.c_str());
        auto second = cli({"verify", chain.root(), "--replica", target, "--json"});
        QVERIFY2(second.exitCode == 0, second.out.c_str());
        QCOMPARE(replicaStates(second).at(2), std::string("MATCH"));
        // The replica's own re-hash equals the primary's header.
        QCOMPARE(sc::computeFootprint(target + "/blocks/000000000002", opened.footprintOptions()).root().hex(),
                 inc["content_root"].get<std::string>());
    }

    void tamperedReplicaIsMismatch() {
        ChainFixture chain;
        BtrfsImage other(512);
        std::string target = other.path("replica");
        writeFile(chain.data("keep.txt"), "keep");
        writeFile(chain.data("ledger.csv"), "a,b,c\n1,2,3\n");
        chain.commit("data");
        QCOMPARE(cli({"send", chain.root(), "--to", target}).exitCode, 0);
        std::string block = target + "/blocks/000000000001";
        sc::btrfs::setReadOnly(block, false); // raw ioctl: received_uuid stays
        writeFile(block + "/ledger.csv", "a,b,c\n1,2,4\n");
        sc::btrfs::setReadOnly(block, true);
        auto verify = cli({"verify", chain.root(), "--replica", target});
        QCOMPARE(verify.exitCode, 4);
        QVERIFY2(contains(verify.out, "MISMATCH"), verify.out.c_str());
        QVERIFY2(contains(verify.out, "ledger.csv"), verify.out.c_str());
        QVERIFY(!contains(verify.out, "keep.txt"));
        QVERIFY(contains(verify.out, "1 match, 1 mismatch, 0 missing, 0 foreign"));
    }

    void missingAndForeignBlocks() {
        ChainFixture chain;
        ChainFixture otherChain(512, "other");
        BtrfsImage disk(512);
        std::string target = disk.path("replica");
        writeFile(chain.data("x"), "x");
        chain.commit("one");
        writeFile(chain.data("y"), "y");
        chain.commit("two");
        QCOMPARE(cli({"send", chain.root(), "--to", target, "--upto", "1"}).exitCode, 0);
        // A subvolume that did not come from this chain, under a block name.
        mustRun({"btrfs", "subvolume", "snapshot", "-r", disk.path("replica/blocks/000000000001"),
                 disk.path("replica/blocks/000000000007")});
        auto verify = cli({"verify", chain.root(), "--replica", target, "--json"});
        QCOMPARE(verify.exitCode, 4);
        auto states = replicaStates(verify);
        QCOMPARE(states.at(0), std::string("MATCH"));
        QCOMPARE(states.at(1), std::string("MATCH"));
        QCOMPARE(states.at(2), std::string("MISSING"));
        QCOMPARE(states.at(7), std::string("FOREIGN"));
        nlohmann::json totals = jsonLines(verify.out).back();
        QVERIFY2(totals["all_match"] == false && totals["counts"]["FOREIGN"] == 1, verify.out.c_str());
        // A replica of another chain is refused.
        auto wrongChain = cli({"send", otherChain.root(), "--to", target});
        QCOMPARE(wrongChain.exitCode, 1);
        QVERIFY(contains(wrongChain.err, "belongs to another chain"));
    }

    void fanOutWithZstdAndOneFullTarget() {
        ChainFixture chain(1024);
        BtrfsImage disk(1024);
        BtrfsImage tiny(128); // too small for the data below
        // Incompressible data, so compression cannot make it fit.
        std::string noise = mustRun({"head", "-c", "200000000", "/dev/urandom"});
        writeFile(chain.data("noise.bin"), noise);
        writeFile(chain.data("text.log"), std::string(5 << 20, 'a'));
        chain.commit("big");
        std::vector<std::string> targets{disk.path("r1"), "local:" + disk.path("r2"), tiny.path("r3"),
                                         disk.path("r4")};
        std::vector<std::string> args{"send", chain.root(), "--compress", "zstd:3", "--threads", "2", "--json"};
        for (const auto& t : targets)
            args.insert(args.end(), {"--to", t});
        auto send = cli(args);
        QCOMPARE(send.exitCode, 5); // partial failure
        auto failed = lastEvent(send, "target_failed");
        QVERIFY2(contains(failed["targets"][0].get<std::string>(), "r3"), send.out.c_str());
        QVERIFY2(contains(failed["error"].get<std::string>(), "receive"), send.out.c_str());
        // One read feeds everyone: the stream is read once per block, not per target.
        auto finished = lastEvent(send, "finished");
        QVERIFY(finished["wire_bytes"].get<std::uint64_t>() < finished["bytes_done"].get<std::uint64_t>() + (1 << 20));
        for (const auto& t : {disk.path("r1"), disk.path("r2"), disk.path("r4")}) {
            auto verify = cli({"verify", chain.root(), "--replica", t});
            QVERIFY2(verify.exitCode == 0, verify.out.c_str());
        }
        // The full target holds no partial block and no staging leftovers.
        for (const auto& name : namesIn(tiny.path("r3/blocks")))
            QVERIFY2(name == "000000000000", name.c_str());
        QVERIFY(namesIn(tiny.path("r3/.streamchain/staging")).empty());
    }

    void badSendInputChangesNothing() {
        ChainFixture chain;
        BtrfsImage disk(256);
        auto upto = cli({"send", chain.root(), "--to", disk.path("r"), "--upto", "9"});
        QCOMPARE(upto.exitCode, 2);
        QVERIFY(contains(upto.err, "beyond the tip"));
        auto compress = cli({"send", chain.root(), "--to", disk.path("r"), "--compress", "lz4"});
        QCOMPARE(compress.exitCode, 2);
        auto scheme = cli({"send", chain.root(), "--to", "ftp://host/x"});
        QCOMPARE(scheme.exitCode, 2);
        QVERIFY(!fs::exists(disk.path("r")));
        TempDir plain("not-btrfs");
        auto notBtrfs = cli({"send", chain.root(), "--to", plain.path() + "/r"});
        QCOMPARE(notBtrfs.exitCode, 1);
        QVERIFY(contains(notBtrfs.err, "not on a btrfs filesystem"));
        QVERIFY(!fs::exists(plain.path() + "/r"));
    }

    void interruptedReceiveLeavesNoPartialBlock() {
        ChainFixture chain;
        BtrfsImage disk(512);
        writeFile(chain.data("big.bin"), mustRun({"head", "-c", "50000000", "/dev/urandom"}));
        chain.commit("big");
        auto killed = cli({"send", chain.root(), "--to", disk.path("r")}, {"STREAMCHAIN_FAULT=receive-before-publish"});
        QVERIFY(killed.exitCode != 0);
        for (const auto& name : namesIn(disk.path("r/blocks")))
            QVERIFY2(name == "000000000000" || name.empty(), name.c_str());
        // The next send cleans the staging area and completes.
        QCOMPARE(cli({"send", chain.root(), "--to", disk.path("r")}).exitCode, 0);
        QVERIFY(namesIn(disk.path("r/.streamchain/staging")).empty());
        QCOMPARE(cli({"verify", chain.root(), "--replica", disk.path("r")}).exitCode, 0);
    }
};

STREAMCHAIN_SYSTEM_TEST_MAIN(TestReplication)
#include "test_replication.moc"
