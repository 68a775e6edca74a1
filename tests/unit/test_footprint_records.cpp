// Footprint records as streams: walk order is the order a depth-first walk meets paths;
// a record written with digests filled in out of order reads back as the tree it holds;
// damage is refused; checkpoints plus deltas replay to the tree of every height.
// Randomized against trees held in memory (the oracle); the seed is printed on failure
// and replays with SC_RECORDS_SEED.
#include "core/base/error.h"
#include "core/footprint/footprint.h"
#include "core/footprint/footprint_record_file.h"
#include "core/footprint/footprint_records.h"
#include "core/footprint/walk_order.h"
#include "tests/support/btrfs_fixture.h"

#include <QTest>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>

using namespace sc;
using sctest::TempDir;
namespace fs = std::filesystem;

namespace {

std::uint64_t seedFromEnvironment(std::uint64_t fallback) {
    const char* text = std::getenv("SC_RECORDS_SEED");
    return text ? std::strtoull(text, nullptr, 10) : fallback;
}

Digest randomDigest(std::mt19937_64& random, HashAlgorithm algorithm) {
    Digest digest = hashBytes(algorithm, std::to_string(random()));
    return digest;
}

// Names chosen to sort differently as whole paths than in a walk: "a" "a-b" "a.b" "a0" "a\x01".
std::string randomName(std::mt19937_64& random) {
    static const std::vector<std::string> stems{"a", "a-b", "a.b", "a0", "b", std::string("a\x01", 2), "\xff", "z z"};
    std::string name = stems[random() % stems.size()];
    if (random() % 2)
        name += std::to_string(random() % 5);
    return name;
}

FootprintEntry randomEntry(std::mt19937_64& random, EntryType type, std::uint32_t format, HashAlgorithm algorithm) {
    FootprintEntry entry;
    entry.type = type;
    entry.digest = randomDigest(random, algorithm);
    entry.inode = random() % 100000;
    entry.ctimeNs = static_cast<std::int64_t>(random());
    entry.mtimeNs = static_cast<std::int64_t>(random());
    entry.nlink = static_cast<std::uint32_t>(1 + random() % 3);
    if (type == EntryType::File) {
        entry.size = random() % 3 ? random() % 5000 : (random() % 40) * kFootprintChunkSize + random() % 7;
        if (format == kFootprintFormatChunked && entry.size > kFootprintChunkSize) {
            auto chunks = std::make_shared<ChunkDigests>();
            chunks->size = entry.size;
            for (std::uint64_t i = 0; i < chunkCount(entry.size); ++i)
                if (random() % 4)
                    chunks->leaves[i] = randomDigest(random, algorithm);
            entry.chunks = chunks;
        }
    }
    return entry;
}

// A random tree: every path's parent directory is in it.
FootprintTree randomTree(std::mt19937_64& random, std::uint32_t format, HashAlgorithm algorithm, std::size_t size) {
    FootprintTree tree(algorithm, kFootprintAllFeatures, format);
    tree.setRoot(randomDigest(random, algorithm));
    tree.put("", randomEntry(random, EntryType::Directory, format, algorithm));
    std::vector<std::string> directories{""};
    while (tree.size() < size) {
        const std::string& dir = directories[random() % directories.size()];
        std::string path = dir.empty() ? randomName(random) : dir + "/" + randomName(random);
        if (tree.find(path))
            continue;
        EntryType type = random() % 3 == 0 ? EntryType::Directory : random() % 5 ? EntryType::File : EntryType::Symlink;
        tree.put(path, randomEntry(random, type, format, algorithm));
        if (type == EntryType::Directory)
            directories.push_back(path);
    }
    return tree;
}

// A changed copy: some entries changed, some subtrees removed, some added.
FootprintTree mutated(std::mt19937_64& random, const FootprintTree& before) {
    FootprintTree after = before;
    after.setRoot(randomDigest(random, before.algorithm()));
    std::vector<std::string> paths;
    for (const auto& [path, entry] : before.entries())
        if (!path.empty())
            paths.push_back(path);
    for (int i = 0; i < 5 && !paths.empty(); ++i) {
        const std::string& path = paths[random() % paths.size()];
        if (!after.find(path))
            continue;
        switch (random() % 3) {
        case 0:
            after.put(path, randomEntry(random, after.at(path).type, before.format(), before.algorithm()));
            break;
        case 1:
            for (const auto& [other, entry] : before.entries())
                if (isAtOrBelow(other, path))
                    after.erase(other);
            break;
        default:
            if (after.at(path).type == EntryType::Directory)
                after.put(path + "/" + randomName(random),
                          randomEntry(random, EntryType::File, before.format(), before.algorithm()));
        }
    }
    return after;
}

bool sameEntries(const FootprintTree& a, const FootprintTree& b, QString& why) {
    if (!(a.root() == b.root()) || a.size() != b.size() || a.format() != b.format() || a.algorithm() != b.algorithm()) {
        why = QString("root, size or settings differ (%1 vs %2 entries)").arg(a.size()).arg(b.size());
        return false;
    }
    for (const auto& [path, x] : a.entries()) {
        const FootprintEntry* y = b.find(path);
        bool same = y && x.type == y->type && x.digest == y->digest && x.size == y->size && x.inode == y->inode &&
                    x.ctimeNs == y->ctimeNs && x.mtimeNs == y->mtimeNs && x.nlink == y->nlink &&
                    !x.chunks == !y->chunks &&
                    (!x.chunks || (x.chunks->size == y->chunks->size && x.chunks->leaves == y->chunks->leaves));
        if (!same) {
            why = QString::fromStdString("entry differs: " + displayPath(path));
            return false;
        }
    }
    return true;
}

// Writes `tree` in walk order with every digest and chunk list given later, in a shuffled order.
void writeShuffled(std::mt19937_64& random, const FootprintTree& tree, const std::string& file) {
    TreeSource source(tree);
    RecordFileWriter writer(file, source.info());
    std::vector<std::pair<EntrySink::Slot, FootprintEntry>> later;
    std::string path;
    FootprintEntry entry;
    while (source.next(path, entry)) {
        FootprintEntry placeholder = entry;
        placeholder.digest = Digest{};
        placeholder.chunks = nullptr;
        later.emplace_back(writer.add(path, placeholder), entry);
    }
    std::shuffle(later.begin(), later.end(), random);
    for (auto& [slot, complete] : later)
        writer.complete(slot, complete.digest, complete.chunks);
    writer.finish(tree.root());
    writer.keep();
}

} // namespace

class TestFootprintRecords : public QObject {
    Q_OBJECT
private slots:
    void walkOrderIsTheOrderOfADepthFirstWalk() {
        const std::uint64_t seed = seedFromEnvironment(20261203);
        std::mt19937_64 random(seed);
        for (int round = 0; round < 20; ++round) {
            FootprintTree tree = randomTree(random, kFootprintFormatChunked, HashAlgorithm::Sha256, 300);
            // The walk: children by byte-sorted name, each followed by everything below it.
            std::vector<std::string> walked;
            std::function<void(const std::string&)> walk = [&](const std::string& dir) {
                walked.push_back(dir);
                std::vector<std::string> names;
                for (const auto& path : tree.children(dir))
                    names.push_back(path.substr(dir.empty() ? 0 : dir.size() + 1));
                std::sort(names.begin(), names.end());
                for (const auto& name : names)
                    walk(dir.empty() ? name : dir + "/" + name);
            };
            walk("");
            std::vector<std::string> sorted;
            for (const auto& [path, entry] : tree.entries())
                sorted.push_back(path);
            std::sort(sorted.begin(), sorted.end(), [](const std::string& a, const std::string& b) { return walkOrderLess(a, b); });
            QVERIFY2(sorted == walked, qPrintable(QString("seed %1 round %2").arg(seed).arg(round)));
        }
        QVERIFY(walkOrderLess("a", "a/b") && walkOrderLess("a/b", "a-c") && !walkOrderLess("a-c", "a/b"));
        QVERIFY(isAtOrBelow("a/b", "a") && !isAtOrBelow("a-c", "a") && isAtOrBelow("a", "") && isAtOrBelow("a", "a"));
    }

    void recordFilesReadBackWhatWasWritten() {
        const std::uint64_t seed = seedFromEnvironment(20261204);
        std::mt19937_64 random(seed);
        TempDir t("fp-stream");
        for (int round = 0; round < 12; ++round) {
            const std::uint32_t format = round % 3 ? kFootprintFormatChunked : kFootprintFormatWholeFile;
            const HashAlgorithm algorithm = round % 2 ? HashAlgorithm::Blake2b512 : HashAlgorithm::Sha256;
            FootprintTree tree = randomTree(random, format, algorithm, 1 + random() % 400);
            std::string file = t.path() + "/r" + std::to_string(round) + ".fp";
            writeShuffled(random, tree, file);
            std::unique_ptr<EntrySource> source = openRecordFile(file);
            QString why;
            QVERIFY2(sameEntries(readWholeTree(*source), tree, why),
                     qPrintable(QString("seed %1 round %2: %3").arg(seed).arg(round).arg(why)));
        }
        QVERIFY(fs::is_empty(t.path()) == false);
        for (const auto& entry : fs::directory_iterator(t.path())) // no temporary file is left behind
            QVERIFY2(entry.path().extension() == ".fp", qPrintable(QString::fromStdString(entry.path().string())));
    }

    void damagedRecordsAreRefused() {
        std::mt19937_64 random(7);
        TempDir t("fp-damage");
        FootprintTree tree = randomTree(random, kFootprintFormatChunked, HashAlgorithm::Sha256, 200);
        std::string file = t.path() + "/tree.fp";
        writeShuffled(random, tree, file);
        const std::string bytes = sctest::readFile(file);
        auto readAll = [&](const std::string& contents) {
            sctest::writeFile(file, contents);
            std::unique_ptr<EntrySource> source = openRecordFile(file);
            readWholeTree(*source);
        };
        for (std::size_t at : {std::size_t{0}, std::size_t{9}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 40,
                               bytes.size() - 1}) {
            std::string damaged = bytes;
            damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
            QVERIFY_THROWS_EXCEPTION(Error, readAll(damaged));
        }
        QVERIFY_THROWS_EXCEPTION(Error, readAll(bytes.substr(0, bytes.size() / 2)));
        QVERIFY_THROWS_EXCEPTION(Error, readAll(bytes + "x"));
        readAll(bytes); // and the undamaged record still reads
    }

    void writerDroppedUnfinishedLeavesNothing() {
        TempDir t("fp-drop");
        {
            RecordFileWriter writer(t.path() + "/1.fp", EntryStreamInfo{});
            writer.add("", FootprintEntry{});
        }
        QVERIFY(fs::is_empty(t.path()));
    }

    void aWriterThatCannotWriteStillTakesEverythingAndKeepsNothing() {
        TempDir t("fp-unwritable");
        RecordFileWriter writer(t.path() + "/missing-directory/1.fp", EntryStreamInfo{});
        EntrySink::Slot slot = writer.add("", FootprintEntry{}); // the walk feeding it goes on
        writer.complete(slot, hashBytes(HashAlgorithm::Sha256, "x"), nullptr);
        writer.finish(hashBytes(HashAlgorithm::Sha256, "root"));
        QVERIFY_THROWS_EXCEPTION(Error, writer.throwIfFailed());
        QVERIFY_THROWS_EXCEPTION(Error, writer.keep());
        QVERIFY(fs::is_empty(t.path()));
    }

    void checkpointsAndDeltasReplayEveryHeight() {
        const std::uint64_t seed = seedFromEnvironment(20261205);
        std::mt19937_64 random(seed);
        TempDir t("fp-deltas");
        FootprintRecords records(t.path());
        std::vector<FootprintTree> trees{randomTree(random, kFootprintFormatChunked, HashAlgorithm::Sha256, 500)};
        for (std::uint64_t h = 1; h < 70; ++h)
            trees.push_back(mutated(random, trees.back()));
        for (std::uint64_t h = 0; h < trees.size(); ++h)
            records.save(h, trees[h], /*againstParent=*/h % 17 != 5); // now and then a complete record
        for (std::uint64_t h = 0; h < trees.size(); ++h) {
            std::optional<FootprintTree> loaded = records.load(h);
            QString why;
            QVERIFY2(loaded && sameEntries(*loaded, trees[h], why),
                     qPrintable(QString("seed %1 height %2: %3").arg(seed).arg(h).arg(loaded ? why : "missing")));
        }
        QVERIFY(fs::exists(t.path() + "/000000000001.fpd") && fs::exists(t.path() + "/000000000032.fp"));
    }
};

QTEST_APPLESS_MAIN(TestFootprintRecords)
#include "test_footprint_records.moc"
