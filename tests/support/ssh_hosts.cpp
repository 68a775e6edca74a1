#include "tests/support/ssh_hosts.h"

#include "tests/support/process_tree.h"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <sstream>
#include <netinet/in.h>
#include <random>
#include <regex>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sctest {

namespace {

std::string pickFreeSubnet() {
    std::string inUse = mustRun({"ip", "-4", "-o", "addr", "show"});
    std::random_device random;
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string subnet = "10." + std::to_string(64 + random() % 64) + "." + std::to_string(random() % 256) + ".";
        if (inUse.find(" " + subnet) == std::string::npos)
            return subnet;
    }
    throw std::runtime_error("no free 10.x.y.0/24 subnet for the test lab");
}

std::string makeKey(const std::string& path) {
    mustRun({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "streamchain-test", "-f", path});
    return path;
}

// Namespaces are named sc<pid>-<n>-...: those of a test process that is gone (killed,
// so its destructors never ran) are removed by the next lab. Their links and sshds go
// with them; their loop images went with the dead process's mount namespace.
void removeNamespacesOfDeadTests() {
    static const std::regex ours("sc([0-9]{1,9})-[0-9]+-(sw|r[0-9]+)");
    std::istringstream list(run({"ip", "netns", "list"}).out);
    for (std::string line; std::getline(list, line);) {
        std::string name = line.substr(0, line.find(' '));
        std::smatch match;
        if (std::regex_match(name, match, ours) && ::kill(std::stoi(match[1].str()), 0) != 0 && errno == ESRCH)
            run({"ip", "netns", "delete", name});
    }
}

} // namespace

SshLab::SshLab(int hostCount, unsigned imageMiB) : dir_("sshlab") {
    static std::atomic<int> labsInThisProcess{0};
    removeNamespacesOfDeadTests();
    prefix_ = "sc" + std::to_string(::getpid()) + "-" + std::to_string(labsInThisProcess++);
    switchNs_ = prefix_ + "-sw";
    subnet_ = pickFreeSubnet();
    clientKey_ = makeKey(dir_.path() + "/client_ed25519");
    strangerKey_ = makeKey(dir_.path() + "/stranger_ed25519");

    // The bridge lives in a namespace so nothing outlives the test's mount namespace.
    mustRun({"ip", "netns", "add", switchNs_});
    mustRun({"ip", "-n", switchNs_, "link", "add", "br0", "type", "bridge"});
    mustRun({"ip", "-n", switchNs_, "link", "set", "br0", "up"});
    rootVeth_ = prefix_ + "r";
    mustRun({"ip", "link", "add", rootVeth_, "type", "veth", "peer", "name", "up0", "netns", switchNs_});
    mustRun({"ip", "-n", switchNs_, "link", "set", "up0", "master", "br0", "up"});
    mustRun({"ip", "addr", "add", subnet_ + "1/24", "dev", rootVeth_});
    mustRun({"ip", "link", "set", rootVeth_, "up"});
    fs::create_directories("/run/sshd"); // sshd's privilege separation directory

    for (int i = 0; i < hostCount; ++i) {
        auto host = std::make_unique<SshHost>();
        host->name = "r" + std::to_string(i + 1);
        host->netns = prefix_ + "-" + host->name;
        host->address = subnet_ + std::to_string(i + 2);
        host->veth = "eth0";
        std::string switchPort = "p" + std::to_string(i + 1);
        mustRun({"ip", "netns", "add", host->netns});
        mustRun({"ip", "-n", switchNs_, "link", "add", switchPort, "type", "veth", "peer", "name", "eth0", "netns",
                 host->netns});
        mustRun({"ip", "-n", switchNs_, "link", "set", switchPort, "master", "br0", "up"});
        mustRun({"ip", "-n", host->netns, "addr", "add", host->address + "/24", "dev", "eth0"});
        mustRun({"ip", "-n", host->netns, "link", "set", "eth0", "up"});
        mustRun({"ip", "-n", host->netns, "link", "set", "lo", "up"});
        // Mounted before sshd starts: `ip netns exec` copies the mount namespace at that moment.
        host->image = std::make_unique<BtrfsImage>(imageMiB);
        std::string hostDir = dir_.path() + "/" + host->name;
        fs::create_directories(hostDir);
        host->hostKey = makeKey(hostDir + "/host_ed25519");
        host->configFile = hostDir + "/sshd_config";
        host->authorizedKeys = hostDir + "/authorized_keys";
        writeFile(host->authorizedKeys, readFile(clientKey_ + ".pub"));
        writeFile(host->configFile, "ListenAddress " + host->address +
                                        "\nPort 22\nHostKey " + host->hostKey +
                                        "\nAuthorizedKeysFile " + host->authorizedKeys + "\n"
                                        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                                        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                                        "PidFile none\nLogLevel ERROR\nMaxStartups 100\n"
                                        "Subsystem sftp internal-sftp\n");
        hosts_.push_back(std::move(host));
        startSshd(*hosts_.back());
    }
}

SshLab::~SshLab() {
    for (auto& host : hosts_) {
        stopSshd(*host);
        host->image.reset();
        run({"ip", "netns", "delete", host->netns});
    }
    run({"ip", "link", "delete", rootVeth_});
    run({"ip", "netns", "delete", switchNs_});
}

std::string SshLab::replicaPath(int index, const std::string& relative) const {
    return hosts_.at(static_cast<std::size_t>(index))->image->path(relative);
}

std::string SshLab::url(int index, const std::string& relative) const {
    return "ssh://root@" + hosts_.at(static_cast<std::size_t>(index))->address + replicaPath(index, relative);
}

std::string SshLab::hostKeyFingerprint(int index) const {
    std::string out = mustRun({"ssh-keygen", "-l", "-E", "sha256", "-f",
                               hosts_.at(static_cast<std::size_t>(index))->hostKey + ".pub"});
    // "256 SHA256:xxxx comment (ED25519)"
    auto start = out.find("SHA256:");
    return out.substr(start, out.find(' ', start) - start);
}

void SshLab::startSshd(SshHost& host) {
    host.sshd = std::make_unique<QProcess>();
    host.sshd->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    host.sshd->setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
    host.sshd->start("ip", {"netns", "exec", QString::fromStdString(host.netns), "/usr/sbin/sshd", "-D", "-e", "-f",
                            QString::fromStdString(host.configFile)});
    if (!host.sshd->waitForStarted(10000))
        throw std::runtime_error("cannot start sshd for " + host.name);
    waitForPort(host);
}

void SshLab::stopSshd(SshHost& host) {
    if (!host.sshd)
        return;
    for (pid_t child : descendantsOf(static_cast<pid_t>(host.sshd->processId())))
        ::kill(child, SIGKILL);
    host.sshd->kill();
    host.sshd->waitForFinished(5000);
    host.sshd.reset();
}

void SshLab::waitForPort(const SshHost& host) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(22);
        ::inet_pton(AF_INET, host.address.c_str(), &address.sin_addr);
        bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        ::close(fd);
        if (connected)
            return;
        if (host.sshd->state() == QProcess::NotRunning)
            throw std::runtime_error("sshd for " + host.name + " exited at start");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("sshd for " + host.name + " does not listen on " + host.address + ":22");
}

void SshLab::replaceHostKey(int index) {
    SshHost& h = host(index);
    fs::remove(h.hostKey);
    fs::remove(h.hostKey + ".pub");
    makeKey(h.hostKey);
    restartSshd(index);
}

void SshLab::setAuthorizedKeys(int index, const std::string& lines) { writeFile(host(index).authorizedKeys, lines); }

void SshLab::restartSshd(int index) {
    stopSshd(host(index));
    startSshd(host(index));
}

void SshLab::killConnections(int index) {
    SshHost& h = host(index);
    for (pid_t child : descendantsOf(static_cast<pid_t>(h.sshd->processId())))
        ::kill(child, SIGKILL);
}

void SshLab::setLink(int index, bool up) {
    mustRun({"ip", "-n", switchNs_, "link", "set", "p" + std::to_string(index + 1), up ? "up" : "down"});
}

void SshLab::shapeLink(int index, const std::string& rate) {
    // The switch port's egress is the primary-to-host direction.
    std::string port = "p" + std::to_string(index + 1);
    if (rate.empty())
        run({"ip", "netns", "exec", switchNs_, "tc", "qdisc", "del", "dev", port, "root"});
    else
        mustRun({"ip", "netns", "exec", switchNs_, "tc", "qdisc", "replace", "dev", port, "root", "tbf", "rate", rate,
                 "burst", "256kb", "latency", "100ms"});
}

CommandResult SshLab::runOn(int index, const std::vector<std::string>& argv) {
    std::vector<std::string> full{"ip", "netns", "exec", host(index).netns};
    full.insert(full.end(), argv.begin(), argv.end());
    return run(full);
}

} // namespace sctest
