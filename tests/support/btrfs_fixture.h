#pragma once
// Real btrfs for tests: sparse image files, mkfs.btrfs, mount -o loop.
// Every test process first enters a private mount namespace, so even a crash
// releases its mounts and (through loop autoclear) its loop devices.
#include <QTest>
#include <string>
#include <vector>

namespace sctest {

// Unique per process and call: "/tmp/sc-test-<pid>-<n>-<random>".
std::string uniqueTempPath(const std::string& tag);

class TempDir {
public:
    explicit TempDir(const std::string& tag = "dir");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

class BtrfsImage {
public:
    // sizeMiB of sparse image; mount options e.g. "compress=zstd".
    explicit BtrfsImage(unsigned sizeMiB = 512, const std::string& mountOptions = {});
    ~BtrfsImage();
    BtrfsImage(const BtrfsImage&) = delete;
    BtrfsImage& operator=(const BtrfsImage&) = delete;
    const std::string& mountPoint() const { return mountPoint_; }
    std::string path(const std::string& relative) const { return mountPoint_ + "/" + relative; }

private:
    std::string image_;
    std::string mountPoint_;
};

// Run a command given as argv (never a shell line); returns its exit code, captures output.
struct CommandResult {
    int exitCode = -1;
    std::string out;
    std::string err;
};
CommandResult run(const std::vector<std::string>& argv, const std::vector<std::string>& extraEnv = {});
// Run and QFAIL-style throw if it fails (use in setup code, not for the thing under test).
std::string mustRun(const std::vector<std::string>& argv);
// The streamchain CLI built with the tests.
CommandResult cli(const std::vector<std::string>& args, const std::vector<std::string>& extraEnv = {});

void writeFile(const std::string& path, const std::string& contents);
std::string readFile(const std::string& path);

bool isRoot();
void enterPrivateMountNamespace();

} // namespace sctest

// Like QTEST_APPLESS_MAIN, for tests that need real btrfs: root and a private mount namespace.
#define STREAMCHAIN_SYSTEM_TEST_MAIN(TestObject)                                                           \
    int main(int argc, char** argv) {                                                                      \
        if (!sctest::isRoot()) {                                                                           \
            std::fprintf(stderr, "SKIP: system tests need root (loop devices and btrfs)\n");               \
            return 0;                                                                                      \
        }                                                                                                  \
        sctest::enterPrivateMountNamespace();                                                              \
        TestObject tc;                                                                                     \
        QTEST_SET_MAIN_SOURCE_PATH                                                                         \
        return QTest::qExec(&tc, argc, argv);                                                              \
    }
