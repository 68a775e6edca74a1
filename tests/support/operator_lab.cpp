#include "tests/support/operator_lab.h"

#include <filesystem>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace sctest {

std::string rootOwnedDir(const std::string& path) {
    fs::create_directories(path);
    ::chmod(path.c_str(), 0755);
    return path;
}

OperatorLab::OperatorLab() {
    writeFile(secret.data("plans.txt"), "classified");
    secret.commit("secret-message");
    ::chmod(secret.root().c_str(), 0700);
    socket = rootOwnedDir(run.path()) + "/control.sock";
    log = run.path() + "/daemon.log";
    keys = rootOwnedDir(run.path() + "/keys");
    mustRun({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keys + "/replicas"});
    rootKey = run.path() + "/root_only_key";
    mustRun({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", rootKey});
    localRoot = rootOwnedDir(chain.image().path("replicas"));
}

void OperatorLab::startDaemon() {
    daemon = std::make_unique<DaemonProcess>(
        chain.root(), socket,
        DaemonProcess::Launch{{"--group", QString::fromStdString(op.group()), "--key-dir", QString::fromStdString(keys),
                               "--local-root", QString::fromStdString(localRoot)},
                              log,
                              {},
                              0});
}

} // namespace sctest
