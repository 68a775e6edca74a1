#include "tests/support/btrfs_fixture.h"

#include <QProcess>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sched.h>
#include <stdexcept>
#include <csignal>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sctest {

std::string uniqueTempPath(const std::string& tag) {
    static std::atomic<unsigned> counter{0};
    std::random_device random;
    return "/tmp/sc-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
           std::to_string(random() % 100000) + "-" + tag;
}

TempDir::TempDir(const std::string& tag) : path_(uniqueTempPath(tag)) { fs::create_directories(path_); }

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

bool isRoot() { return ::geteuid() == 0; }

void enterPrivateMountNamespace() {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        std::fprintf(stderr, "cannot enter a private mount namespace: %s\n", std::strerror(errno));
        std::exit(1);
    }
}

CommandResult run(const std::vector<std::string>& argv, const std::vector<std::string>& extraEnv) {
    QProcess process;
    QStringList args;
    for (std::size_t i = 1; i < argv.size(); ++i)
        args << QString::fromStdString(argv[i]);
    if (!extraEnv.empty()) {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const auto& assignment : extraEnv) {
            auto eq = assignment.find('=');
            env.insert(QString::fromStdString(assignment.substr(0, eq)),
                       QString::fromStdString(assignment.substr(eq + 1)));
        }
        process.setProcessEnvironment(env);
    }
    // A test killed by a timeout takes what it started with it.
    process.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
    process.start(QString::fromStdString(argv.front()), args);
    CommandResult result;
    if (!process.waitForStarted(10000)) {
        result.err = "cannot start " + argv.front();
        return result;
    }
    process.closeWriteChannel();
    process.waitForFinished(-1);
    result.out = process.readAllStandardOutput().toStdString();
    result.err = process.readAllStandardError().toStdString();
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : 128 + 9;
    return result;
}

std::string mustRun(const std::vector<std::string>& argv) {
    CommandResult result = run(argv);
    if (result.exitCode != 0) {
        std::string line;
        for (const auto& arg : argv)
            line += arg + " ";
        throw std::runtime_error("setup command failed: " + line + "-> " + result.err);
    }
    return result.out;
}

CommandResult cli(const std::vector<std::string>& args, const std::vector<std::string>& extraEnv) {
    std::vector<std::string> argv{STREAMCHAIN_CLI};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, extraEnv);
}

void writeFile(const std::string& path, const std::string& contents) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

BtrfsImage::BtrfsImage(unsigned sizeMiB, const std::string& mountOptions)
    : image_(uniqueTempPath("btrfs.img")), mountPoint_(uniqueTempPath("mnt")) {
    mustRun({"truncate", "-s", std::to_string(sizeMiB) + "M", image_});
    mustRun({"mkfs.btrfs", "-q", "-f", image_});
    fs::create_directories(mountPoint_);
    std::vector<std::string> mount{"mount", "-o", "loop" + (mountOptions.empty() ? "" : "," + mountOptions), image_,
                                   mountPoint_};
    mustRun(mount);
}

BtrfsImage::~BtrfsImage() {
    // Lazy unmount: a test that failed may still hold a file open in there.
    run({"umount", "-l", mountPoint_});
    std::error_code ec;
    fs::remove(mountPoint_, ec);
    fs::remove(image_, ec);
}

} // namespace sctest
