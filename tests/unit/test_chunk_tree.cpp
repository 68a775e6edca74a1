// Footprint format 2's chunked file digest against a from-scratch oracle: the oracle reads
// every byte with read(2) and builds the whole tree, leaf by leaf, with no holes, no memo
// and no ranges; the code under test reads only data extents and re-hashes only the chunks
// a change touched. A seeded random run of writes, appends, truncates and punched holes
// must agree after every step (STREAMCHAIN_CHUNK_SEED=S replays a run; the seed is printed
// on failure).
#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/footprint/chunk_tree.h"

#include <QTemporaryDir>
#include <QTest>

#include <bit>
#include <cstdlib>
#include <fcntl.h>
#include <random>
#include <string>
#include <unistd.h>

using namespace sc;

namespace {

constexpr std::uint64_t kSmallChunk = 4096; // deep trees from small files

Digest oracleSubtree(const std::vector<Digest>& leaves, std::size_t start, std::size_t count) {
    if (count == 1)
        return leaves[start];
    std::size_t left = 1;
    while (left * 2 < count)
        left *= 2;
    Hasher node(HashAlgorithm::Sha256);
    return node.updateU8(1)
        .updateDigest(oracleSubtree(leaves, start, left))
        .updateDigest(oracleSubtree(leaves, start + left, count - left))
        .finish();
}

Digest oracleRoot(const std::string& path, std::uint64_t chunkSize) {
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::string contents;
    std::vector<char> buffer(1 << 16);
    while (std::size_t n = readSome(fd.get(), buffer.data(), buffer.size(), "oracle read"))
        contents.append(buffer.data(), n);
    std::vector<Digest> leaves;
    for (std::size_t offset = 0; offset < contents.size() || leaves.empty(); offset += chunkSize) {
        Hasher leaf(HashAlgorithm::Sha256);
        leaf.updateU8(0).update(std::string_view(contents).substr(offset, chunkSize));
        leaves.push_back(leaf.finish());
    }
    return oracleSubtree(leaves, 0, leaves.size());
}

Digest rootOfFile(const std::string& path, std::uint64_t chunkSize) {
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::vector<char> buffer;
    return chunkTreeRoot(HashAlgorithm::Sha256, hashFileChunks(fd.get(), HashAlgorithm::Sha256, buffer, chunkSize),
                         chunkSize);
}

void writeAt(int fd, std::uint64_t offset, const std::string& bytes) {
    QCOMPARE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)), static_cast<ssize_t>(bytes.size()));
}

std::uint64_t chosenSeed() {
    if (const char* text = std::getenv("STREAMCHAIN_CHUNK_SEED"))
        return std::strtoull(text, nullptr, 10);
    return std::random_device{}();
}

} // namespace

class TestChunkTree : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    std::string file(const char* name) { return dir_.filePath(name).toStdString(); }

private slots:
    void emptyAndExactAndShortFilesMatchTheOracle() {
        for (std::uint64_t size : {0ull, 1ull, 4095ull, 4096ull, 4097ull, 3 * 4096ull, 5 * 4096ull + 17}) {
            std::string path = file("sizes");
            FileDescriptor fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
            writeAt(fd.get(), 0, std::string(size, 'x'));
            QCOMPARE(rootOfFile(path, kSmallChunk).hex(), oracleRoot(path, kSmallChunk).hex());
        }
    }

    void holesHashAsZerosWhateverTheLayout() {
        std::string sparse = file("sparse"), dense = file("dense");
        FileDescriptor s(::open(sparse.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        FileDescriptor d(::open(dense.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        writeAt(s.get(), 10 * kSmallChunk + 5, "data");
        QCOMPARE(::ftruncate(s.get(), 40 * kSmallChunk + 1), 0);
        std::string zeros(40 * kSmallChunk + 1, '\0');
        zeros.replace(10 * kSmallChunk + 5, 4, "data");
        writeAt(d.get(), 0, zeros);
        QCOMPARE(rootOfFile(sparse, kSmallChunk).hex(), rootOfFile(dense, kSmallChunk).hex());
        QCOMPARE(rootOfFile(sparse, kSmallChunk).hex(), oracleRoot(sparse, kSmallChunk).hex());
    }

    void aFarSparseFileCostsItsDataOnly() {
        // Data at 2^40 with 1 MiB chunks: a million chunks, one of them stored.
        std::string path = file("far");
        FileDescriptor fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        writeAt(fd.get(), std::uint64_t{1} << 40, "far away");
        std::vector<char> buffer;
        ChunkDigests chunks = hashFileChunks(fd.get(), HashAlgorithm::Sha256, buffer);
        QCOMPARE(chunks.leaves.size(), std::size_t{1});
        QVERIFY(!chunkTreeRoot(HashAlgorithm::Sha256, chunks).empty());
    }

    void randomChangesRehashedByRangeMatchTheOracle() {
        const std::uint64_t seed = chosenSeed();
        std::mt19937_64 random(seed);
        const std::string path = file("random");
        FileDescriptor fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        std::vector<char> buffer;
        ChunkDigests chunks = hashFileChunks(fd.get(), HashAlgorithm::Sha256, buffer, kSmallChunk);
        auto below = [&](std::uint64_t n) { return n == 0 ? 0 : random() % n; };
        for (int step = 0; step < 400; ++step) {
            std::uint64_t size = static_cast<std::uint64_t>(::lseek(fd.get(), 0, SEEK_END));
            std::vector<ByteRange> changed;
            std::string what;
            switch (random() % 5) {
            case 0: { // overwrite inside (same size), possibly with zeros
                std::uint64_t offset = below(size + 1), length = 1 + below(3 * kSmallChunk);
                writeAt(fd.get(), offset, std::string(length, random() % 3 ? static_cast<char>('a' + random() % 26) : '\0'));
                changed.push_back({offset, length});
                what = "write " + std::to_string(offset) + "+" + std::to_string(length);
                break;
            }
            case 1: { // append, sometimes after a gap (a hole)
                std::uint64_t offset = size + (random() % 2 ? below(8 * kSmallChunk) : 0), length = 1 + below(kSmallChunk * 5);
                writeAt(fd.get(), offset, std::string(length, static_cast<char>('A' + random() % 26)));
                changed.push_back({offset, length});
                what = "append at " + std::to_string(offset) + "+" + std::to_string(length);
                break;
            }
            case 2: { // truncate down or up
                std::uint64_t target = below(size + 4 * kSmallChunk);
                QCOMPARE(::ftruncate(fd.get(), static_cast<off_t>(target)), 0);
                what = "truncate to " + std::to_string(target);
                break;
            }
            case 3: { // punch a hole
                std::uint64_t offset = below(size + 1), length = 1 + below(4 * kSmallChunk);
                if (::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                                static_cast<off_t>(length)) == 0)
                    changed.push_back({offset, length});
                what = "punch " + std::to_string(offset) + "+" + std::to_string(length);
                break;
            }
            default: { // nothing changed: no range, same digests
                what = "nothing";
                break;
            }
            }
            chunks = rehashFileChunks(fd.get(), HashAlgorithm::Sha256, chunks, changed, buffer, kSmallChunk);
            const std::string context = "seed " + std::to_string(seed) + " (STREAMCHAIN_CHUNK_SEED), step " +
                                        std::to_string(step) + ": " + what;
            QVERIFY2(chunkTreeRoot(HashAlgorithm::Sha256, chunks, kSmallChunk) == oracleRoot(path, kSmallChunk),
                     context.c_str());
            QVERIFY2(chunkTreeRoot(HashAlgorithm::Sha256, chunks, kSmallChunk) == rootOfFile(path, kSmallChunk),
                     context.c_str());
        }
    }
};

QTEST_GUILESS_MAIN(TestChunkTree)
#include "test_chunk_tree.moc"
