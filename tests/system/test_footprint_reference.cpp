// streamchain's content roots against scripts/footprint-reference, an independent
// implementation written from docs/footprint-format.md alone: every block of chains in
// both footprint formats and both hash algorithms, through changes that format 2 prices
// by chunk (writes that keep size and mtime, appends, truncates, punched holes,
// reflinked ranges), must carry the root the reference computes from scratch.
#include "tests/support/chain_fixture.h"
#include "tests/support/file_changes.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace sctest;

namespace {

constexpr off_t kMiB = 1 << 20;

class File {
public:
    File(const std::string& path, int flags) : fd_(::open(path.c_str(), flags, 0644)) {
        if (fd_ < 0)
            throw std::runtime_error("cannot open " + path);
    }
    ~File() { ::close(fd_); }
    int fd() const { return fd_; }

private:
    int fd_;
};

void writeAt(const std::string& path, off_t offset, const std::string& bytes) {
    File file(path, O_WRONLY | O_CREAT);
    if (::pwrite(file.fd(), bytes.data(), bytes.size(), offset) != static_cast<ssize_t>(bytes.size()))
        throw std::runtime_error("short write to " + path);
}

std::string randomBytes(std::size_t n) { return mustRun({"head", "-c", std::to_string(n), "/dev/urandom"}); }

// The block's root as the reference computes it matches the one in its signed header.
void checkAgainstReference(const std::string& block) {
    auto result = run({STREAMCHAIN_SOURCE_DIR "/scripts/footprint-reference", block, "--header"});
    QVERIFY2(result.exitCode == 0, (block + ": " + result.out + result.err).c_str());
}

} // namespace

class TestFootprintReference : public QObject {
    Q_OBJECT
private slots:
    void rootsMatchTheReference_data() {
        QTest::addColumn<QString>("format");
        QTest::addColumn<QString>("hash");
        QTest::newRow("format 2, sha256") << "2" << "sha256";
        QTest::newRow("format 2, blake2b512") << "2" << "blake2b512";
        QTest::newRow("format 1, sha256") << "1" << "sha256";
    }

    void rootsMatchTheReference() {
        QFETCH(QString, format);
        QFETCH(QString, hash);
        BtrfsImage image(768);
        const std::string root = image.path("chain");
        auto made = cli({"init", root, "--footprint-format", format.toStdString(), "--hash", hash.toStdString()});
        QVERIFY2(made.exitCode == 0, made.err.c_str());
        const std::string data = root + "/data";
        populateAwkwardTree(data + "/tree");
        writeFile(data + "/big.bin", randomBytes(5 * kMiB + 123));
        writeFile(data + "/exact.bin", randomBytes(2 * kMiB));
        writeFile(data + "/empty", "");
        writeAt(data + "/sparse.bin", 7 * kMiB + 5, randomBytes(70000));

        std::vector<std::pair<std::string, std::function<void()>>> changes = {
            {"first", [] {}},
            {"4 KiB inside, same size and mtime",
             [&] { writeKeepingMtime(data + "/big.bin", 3 * kMiB - 2000, randomBytes(4096)); }},
            {"append across a chunk boundary", [&] { writeAt(data + "/exact.bin", 2 * kMiB, randomBytes(kMiB + 9)); }},
            {"truncate into a chunk", [&] { QVERIFY(::truncate((data + "/big.bin").c_str(), 4 * kMiB + 77) == 0); }},
            {"punch a whole chunk", [&] {
                 File file(data + "/exact.bin", O_WRONLY);
                 QVERIFY(::fallocate(file.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kMiB, kMiB) == 0);
             }},
            {"reflink a range to a chunk boundary", [&] {
                 File source(data + "/big.bin", O_RDONLY);
                 File target(data + "/sparse.bin", O_WRONLY);
                 struct file_clone_range range {};
                 range.src_fd = source.fd();
                 range.src_offset = 0;
                 range.src_length = 2 * kMiB;
                 range.dest_offset = 3 * kMiB;
                 QVERIFY(::ioctl(target.fd(), FICLONERANGE, &range) == 0);
             }},
            {"grow by truncate, then a byte in the new tail",
             [&] {
                 QVERIFY(::truncate((data + "/empty").c_str(), 3 * kMiB) == 0);
                 writeAt(data + "/empty", 2 * kMiB + 1, "z");
             }},
        };
        std::uint64_t height = 0;
        for (const auto& [what, change] : changes) {
            change();
            auto committed = cli({"commit", root, "-m", what});
            QVERIFY2(committed.exitCode == 0, committed.err.c_str());
            ++height;
        }
        for (std::uint64_t h = 0; h <= height; ++h) {
            char name[16];
            std::snprintf(name, sizeof name, "%012llu", static_cast<unsigned long long>(h));
            checkAgainstReference(root + "/blocks/" + name);
        }
        auto deep = cli({"verify", root, "--deep"});
        QVERIFY2(deep.exitCode == 0, deep.out.c_str());
    }
};

QTEST_GUILESS_MAIN(TestFootprintReference)
#include "test_footprint_reference.moc"
