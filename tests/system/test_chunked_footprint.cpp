// Footprint format 2 on real btrfs: a small change inside a large file costs the
// chunks it touched on the primary and on a replica, the roots still equal a
// from-scratch hash, a format-1 chain keeps working, and a replica whose parent
// block was altered after it was checked is not fooled by the chunks it kept.
#include "core/btrfs/subvolumes.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/file_changes.h"

#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

using namespace sctest;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;

std::uint64_t bytesHashed(const nlohmann::json& commit) {
    return commit.at("footprint").at("bytes_hashed").get<std::uint64_t>();
}

} // namespace

class TestChunkedFootprint : public QObject {
    Q_OBJECT
private slots:
    void smallWriteInLargeFileCostsItsChunks() {
        ChainFixture chain;
        BtrfsImage other(768);
        const std::string replica = other.path("replica");
        writeFile(chain.data("big.bin"), mustRun({"head", "-c", std::to_string(24 * kMiB), "/dev/urandom"}));
        writeFile(chain.data("small.txt"), "hello");
        nlohmann::json first = chain.commit("big file");
        QVERIFY2(bytesHashed(first) >= 24 * kMiB, first.dump().c_str());
        QVERIFY2(first.at("footprint_format") == 2, first.dump().c_str());
        auto sent = cli({"send", chain.root(), "--to", replica});
        QVERIFY2(sent.exitCode == 0, sent.err.c_str());

        // 4 KiB inside chunk 9, same size and mtime; then an append across a chunk boundary.
        writeKeepingMtime(chain.data("big.bin"), 9 * kMiB + 12345, std::string(4096, 'x'));
        nlohmann::json inPlace = chain.commit("4 KiB inside");
        QVERIFY2(bytesHashed(inPlace) <= 2 * kMiB, inPlace.dump().c_str());
        writeFile(chain.data("tail"), std::string(3 * kMiB / 2, 'y'));
        mustRun({"sh", "-c", "cat \"$1\" >> \"$2\"", "sh", chain.data("tail"), chain.data("big.bin")});
        fs::remove(chain.data("tail"));
        nlohmann::json appended = chain.commit("append");
        QVERIFY2(bytesHashed(appended) <= 3 * kMiB, appended.dump().c_str());
        ::truncate(chain.data("big.bin").c_str(), static_cast<off_t>(5 * kMiB + 7));
        nlohmann::json truncated = chain.commit("truncate");
        QVERIFY2(bytesHashed(truncated) <= 2 * kMiB, truncated.dump().c_str());

        auto deep = cli({"verify", chain.root(), "--deep"});
        QVERIFY2(deep.exitCode == 0, deep.out.c_str());
        auto again = cli({"send", chain.root(), "--to", replica});
        QVERIFY2(again.exitCode == 0, again.err.c_str());
        auto verified = cli({"verify", chain.root(), "--replica", replica, "--json"});
        QVERIFY2(verified.exitCode == 0, verified.out.c_str());
        for (const auto& [height, state] : replicaStates(verified))
            QVERIFY2(state == "MATCH", verified.out.c_str());
    }

    // A replica builds a block's footprint on its record of the parent. Altering the parent
    // block after it was checked (read-only flag cleared by the raw ioctl, so received_uuid
    // stays) must not let the next block inherit the change unseen.
    void alteredParentIsNotTrusted() {
        ChainFixture chain;
        BtrfsImage other(768);
        const std::string replica = other.path("replica");
        writeFile(chain.data("big.bin"), mustRun({"head", "-c", std::to_string(8 * kMiB), "/dev/urandom"}));
        chain.commit("big file");
        QVERIFY(cli({"send", chain.root(), "--to", replica}).exitCode == 0);

        const std::string parentBlock = replica + "/blocks/000000000001";
        sc::btrfs::setReadOnly(parentBlock, false);
        writeKeepingMtime(parentBlock + "/big.bin", 2 * kMiB, "altered");
        sc::btrfs::setReadOnly(parentBlock, true);

        writeKeepingMtime(chain.data("big.bin"), 6 * kMiB, "changed");
        chain.commit("change elsewhere");
        auto sent = cli({"send", chain.root(), "--to", replica});
        QVERIFY2(sent.exitCode != 0, sent.out.c_str());
        QVERIFY2(contains(sent.err + sent.out, "footprint"), (sent.err + sent.out).c_str());
        QVERIFY(!fs::exists(replica + "/blocks/000000000002"));
    }

    void formatOneChainsKeepWorking() {
        BtrfsImage image(768);
        const std::string root = image.path("old");
        auto made = cli({"init", root, "--footprint-format", "1"});
        QVERIFY2(made.exitCode == 0, made.err.c_str());
        writeFile(root + "/data/big.bin", mustRun({"head", "-c", std::to_string(3 * kMiB), "/dev/urandom"}));
        auto committed = cli({"commit", root, "-m", "whole-file hashing", "--json"});
        QVERIFY2(committed.exitCode == 0, committed.err.c_str());
        writeKeepingMtime(root + "/data/big.bin", kMiB, "x");
        committed = cli({"commit", root, "-m", "again", "--json"});
        QVERIFY2(committed.exitCode == 0, committed.err.c_str());
        // Format 1 hashes a changed file whole.
        nlohmann::json second = nlohmann::json::parse(committed.out);
        QVERIFY2(bytesHashed(second) >= 3 * kMiB, committed.out.c_str());
        QVERIFY2(second.at("footprint_format") == 1, committed.out.c_str());
        auto deep = cli({"verify", root, "--deep"});
        QVERIFY2(deep.exitCode == 0, deep.out.c_str());
        auto bad = cli({"init", image.path("bad"), "--footprint-format", "3"});
        QVERIFY(bad.exitCode != 0 && !fs::exists(image.path("bad") + "/data"));
    }
};

QTEST_GUILESS_MAIN(TestChunkedFootprint)
#include "test_chunked_footprint.moc"
