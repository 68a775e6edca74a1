#include "tests/support/replica_kinds.h"

#include "core/base/height_names.h"
#include "tests/support/process_tree.h"
#include "tests/support/relay_setup.h"

#include <csignal>
#include <stdexcept>

namespace sctest {

namespace {

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// A verify against a fresh directory pins the host key and changes nothing else.
void pinHostKey(SshLab& lab, ChainFixture& chain, int host) {
    auto result = cli({"verify", chain.root(), "--replica", lab.url(host, "pin-probe"), "--accept-host-key",
                       lab.hostKeyFingerprint(host), "--identity", lab.clientKey(), "--agent-path", STREAMCHAIN_CLI});
    if (result.err.find("HOST KEY") != std::string::npos || result.err.find("not pinned") != std::string::npos)
        throw std::runtime_error("pinning failed: " + result.err);
}

} // namespace

const std::vector<ReplicaKind>& allReplicaKinds() {
    static const std::vector<ReplicaKind> kinds{ReplicaKind::Local, ReplicaKind::Agent, ReplicaKind::Plain,
                                                ReplicaKind::Relayed};
    return kinds;
}

const char* replicaKindName(ReplicaKind kind) {
    switch (kind) {
    case ReplicaKind::Local:
        return "local";
    case ReplicaKind::Agent:
        return "agent";
    case ReplicaKind::Plain:
        return "plain";
    case ReplicaKind::Relayed:
        return "relayed";
    }
    return "?";
}

ReplicaOfKind::ReplicaOfKind(ReplicaKind kind, ChainFixture& chain) : kind_(kind), chain_(chain) {
    switch (kind_) {
    case ReplicaKind::Local:
        disk_ = std::make_unique<BtrfsImage>(1024);
        break;
    case ReplicaKind::Agent:
    case ReplicaKind::Plain:
        lab_ = std::make_unique<SshLab>(1, 1024);
        pinHostKey(*lab_, chain_, 0);
        break;
    case ReplicaKind::Relayed:
        lab_ = std::make_unique<SshLab>(2, 1024);
        onboardRelayPair(*lab_, chain_);
        break;
    }
}

ReplicaOfKind::~ReplicaOfKind() = default;

std::vector<std::string> ReplicaOfKind::reach() const {
    switch (kind_) {
    case ReplicaKind::Agent:
        return {"--identity", lab_->clientKey(), "--agent-path", STREAMCHAIN_CLI};
    case ReplicaKind::Plain:
        return {"--plain", "--identity", lab_->clientKey()};
    case ReplicaKind::Local:
    case ReplicaKind::Relayed: // registered: the relay pair carries its own keys
        return {};
    }
    return {};
}

std::vector<std::string> ReplicaOfKind::sendArgs() const {
    switch (kind_) {
    case ReplicaKind::Local:
        return {"--to", root()};
    case ReplicaKind::Relayed:
        return {"--to", "r2"};
    case ReplicaKind::Agent:
    case ReplicaKind::Plain:
        return concat({"--to", lab_->url(0, "replica")}, reach());
    }
    return {};
}

CommandResult ReplicaOfKind::send(const std::vector<std::string>& extra) const {
    return cli(concat(concat({"send", chain_.root(), "--json"}, sendArgs()), extra));
}

QStringList ReplicaOfKind::sendArguments() const {
    QStringList args{"send", QString::fromStdString(chain_.root()), "--json"};
    for (const auto& arg : sendArgs())
        args << QString::fromStdString(arg);
    return args;
}

CommandResult ReplicaOfKind::verify() const {
    std::string replica = kind_ == ReplicaKind::Local     ? root()
                          : kind_ == ReplicaKind::Relayed ? std::string("r2")
                                                          : lab_->url(0, "replica");
    return cli(concat({"verify", chain_.root(), "--replica", replica, "--json"}, reach()));
}

std::string ReplicaOfKind::root() const {
    return disk_ ? disk_->path("replica") : lab_->replicaPath(hostIndex(), "replica");
}

std::string ReplicaOfKind::blockPath(std::uint64_t height) const {
    return root() + "/blocks/" + sc::heightName(height);
}

std::vector<std::string> ReplicaOfKind::visibleBlockNames() const {
    std::vector<std::string> visible;
    for (const auto& name : namesIn(root() + "/blocks"))
        if (name.front() != '.')
            visible.push_back(name);
    return visible;
}

void ReplicaOfKind::cutMidStream(const QProcess& send) {
    if (lab_) {
        lab_->killConnections(hostIndex());
        return;
    }
    for (pid_t pid : descendantsOf(static_cast<pid_t>(send.processId())))
        if (commandNameOf(pid) == "btrfs")
            ::kill(pid, SIGKILL);
}

} // namespace sctest
