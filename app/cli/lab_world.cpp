#include "app/cli/lab_world.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/base/process.h"
#include "core/daemon/control_client.h"
#include "core/endpoints/endpoint_pool.h"
#include "core/endpoints/remote_endpoint.h"
#include "core/endpoints/replica_registry.h"
#include "core/ledger/chain.h"
#include "core/ledger/chain_identity.h"
#include "core/ledger/commit.h"
#include "core/replication/onboarding.h"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <netinet/in.h>
#include <random>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace cli {

namespace {

constexpr int kHosts = 3;

std::string hostName(int index) { return "r" + std::to_string(index + 1); }

bool quietly(const std::vector<std::string>& argv) {
    try {
        sc::runCommand(argv, argv.front());
        return true;
    } catch (const sc::Error&) {
        return false;
    }
}

std::string pickSubnet() {
    std::string inUse = sc::runCommand({"ip", "-4", "-o", "addr", "show"}, "listing addresses");
    if (inUse.find(" 10.77.0.") == std::string::npos)
        return "10.77.0.";
    std::random_device random;
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string subnet = "10." + std::to_string(64 + random() % 64) + "." + std::to_string(random() % 256) + ".";
        if (inUse.find(" " + subnet) == std::string::npos)
            return subnet;
    }
    throw sc::Error("lab: no free 10.x.y.0/24 subnet");
}

std::string fingerprintOf(const std::string& publicKeyFile) {
    std::string out = sc::runCommand({"ssh-keygen", "-l", "-E", "sha256", "-f", publicKeyFile}, "fingerprint");
    auto start = out.find("SHA256:");
    return out.substr(start, out.find(' ', start) - start); // "256 SHA256:xxxx comment (ED25519)"
}

void waitForPort(const std::string& address, int port, double seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        sc::FileDescriptor fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET, address.c_str(), &to.sin_addr);
        bool connected = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
        fd.reset();
        if (connected)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw sc::Error("lab: nothing listens on " + address + ":" + std::to_string(port));
}

// A long-running helper that outlives `lab up`: its own session, output to a log file.
pid_t spawnDetached(const std::vector<std::string>& argv, const std::string& logFile) {
    pid_t pid = ::fork();
    if (pid < 0)
        sc::throwSystemError("lab: cannot start " + argv.front(), errno);
    if (pid == 0) {
        ::setsid();
        int log = ::open(logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (log >= 0) {
            ::dup2(log, 1);
            ::dup2(log, 2);
        }
        if (null >= 0)
            ::dup2(null, 0);
        std::vector<char*> args;
        for (const auto& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    return pid;
}

bool isOurProcess(pid_t pid) {
    std::error_code ec;
    std::string exe = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).filename().string();
    return !ec && exe.rfind("streamchain", 0) == 0;
}

void stopProcess(pid_t pid) {
    if (pid <= 0 || !isOurProcess(pid))
        return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) {
        ::waitpid(pid, nullptr, WNOHANG);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (::kill(pid, 0) == 0)
        ::kill(pid, SIGKILL);
}

std::string self() { return fs::read_symlink("/proc/self/exe").string(); }

} // namespace

LabWorld::LabWorld(LabOptions options, std::function<void(const std::string&)> say)
    : options_(std::move(options)), say_(std::move(say)) {
    std::string file = options_.dir + "/lab.json";
    if (fs::exists(file)) {
        auto j = nlohmann::json::parse(sc::readSmallFile(file), nullptr, false);
        if (j.is_object())
            state_ = j;
    }
    options_.name = state_.value("name", options_.name);
    options_.socket = state_.value("socket", options_.socket);
}

void LabWorld::record(const std::string& key, const nlohmann::json& value) {
    state_[key] = value;
    sc::writeFileAtomically(options_.dir + "/lab.json", state_.dump(2) + "\n", 0600);
}

std::string LabWorld::hostNs(int index) const { return options_.name + "-" + hostName(index); }

std::string LabWorld::hostUrl(int index) const {
    return "ssh://root@" + state_["subnet"].get<std::string>() + std::to_string(index + 2) + options_.dir + "/mnt/" +
           hostName(index) + "/replica";
}

void LabWorld::up() {
    if (::geteuid() != 0)
        throw sc::Error("lab up needs root (loop devices, network namespaces, sshd)", sc::ExitCode::Usage);
    if (options_.name.empty() || options_.name.size() > 10 ||
        options_.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos)
        throw sc::Error("lab: --name must be 1-10 lowercase letters or digits", sc::ExitCode::Usage);
    if (fs::exists(options_.dir + "/lab.json"))
        throw sc::Error("a lab is already up in " + options_.dir + " (`streamchain lab down` removes it)",
                        sc::ExitCode::Usage);
    fs::create_directories(options_.dir);
    fs::permissions(options_.dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    record("dir", options_.dir);
    record("socket", options_.socket);
    record("name", options_.name);
    makeNetwork();
    for (int i = 0; i < kHosts; ++i)
        makeHost(i);
    makeChain();
    onboardReplicas();
    startDaemonAndWorkload();
}

void LabWorld::makeNetwork() {
    std::string subnet = pickSubnet();
    record("subnet", subnet);
    say_("network: bridge in namespace " + switchNs() + ", this machine at " + subnet + "1");
    record("switch_ns", switchNs());
    sc::runCommand({"ip", "netns", "add", switchNs()}, "creating the lab's switch namespace");
    sc::runCommand({"ip", "-n", switchNs(), "link", "add", "br0", "type", "bridge"}, "creating the bridge");
    sc::runCommand({"ip", "-n", switchNs(), "link", "set", "br0", "up"}, "bridge up");
    record("root_veth", rootVeth());
    sc::runCommand({"ip", "link", "add", rootVeth(), "type", "veth", "peer", "name", "up0", "netns", switchNs()},
                   "linking this machine to the bridge");
    sc::runCommand({"ip", "-n", switchNs(), "link", "set", "up0", "master", "br0", "up"}, "uplink up");
    sc::runCommand({"ip", "addr", "add", subnet + "1/24", "dev", rootVeth()}, "addressing this machine");
    sc::runCommand({"ip", "link", "set", rootVeth(), "up"}, "link up");
    fs::create_directories(options_.dir + "/keys");
    sc::runCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "streamchain-lab", "-f",
                    options_.dir + "/keys/client_ed25519"},
                   "making the primary's SSH key");
}

void LabWorld::makeHost(int index) {
    const std::string name = hostName(index), ns = hostNs(index);
    const std::string subnet = state_["subnet"].get<std::string>();
    const std::string address = subnet + std::to_string(index + 2);
    const std::string hostDir = options_.dir + "/hosts/" + name, image = options_.dir + "/images/" + name + ".img";
    const std::string mount = options_.dir + "/mnt/" + name;
    say_(name + ": namespace " + ns + " at " + address + ", 2 GiB btrfs image, sshd");
    nlohmann::json hosts = state_.value("hosts", nlohmann::json::array());
    hosts.push_back({{"name", name}, {"netns", ns}, {"address", address}, {"mount", mount}, {"image", image}});
    record("hosts", hosts);
    fs::create_directories(hostDir);
    fs::create_directories(options_.dir + "/images");
    fs::create_directories(mount);
    sc::runCommand({"truncate", "-s", "2G", image}, "making " + name + "'s image");
    sc::runCommand({"mkfs.btrfs", "-q", "-f", image}, "formatting " + name + "'s image");
    // Mounted before its sshd starts: `ip netns exec` copies the mount table at that moment.
    sc::runCommand({"mount", "-o", "loop", image, mount}, "mounting " + name + "'s image");
    sc::runCommand({"ip", "netns", "add", ns}, "creating " + ns);
    std::string port = "p" + std::to_string(index + 1);
    sc::runCommand({"ip", "-n", switchNs(), "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns},
                   "linking " + name);
    sc::runCommand({"ip", "-n", switchNs(), "link", "set", port, "master", "br0", "up"}, "switch port up");
    sc::runCommand({"ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0"}, "addressing " + name);
    sc::runCommand({"ip", "-n", ns, "link", "set", "eth0", "up"}, name + " link up");
    sc::runCommand({"ip", "-n", ns, "link", "set", "lo", "up"}, name + " loopback up");
    sc::runCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "streamchain-lab-" + name, "-f",
                    hostDir + "/host_ed25519"},
                   "making " + name + "'s host key");
    // r3 is fed by r2 only: it will authorize r2's relay key, not the primary's.
    std::string authorized = index == 2 ? "" : sc::readSmallFile(options_.dir + "/keys/client_ed25519.pub");
    sc::writeFileAtomically(hostDir + "/authorized_keys", authorized, 0600);
    sc::writeFileAtomically(hostDir + "/sshd_config",
                            "ListenAddress " + address + "\nPort 22\nHostKey " + hostDir +
                                "/host_ed25519\nAuthorizedKeysFile " + hostDir +
                                "/authorized_keys\nPidFile " + hostDir +
                                "/sshd.pid\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                                "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel ERROR\n"
                                "MaxStartups 100\nSubsystem sftp internal-sftp\n",
                            0600);
    fs::create_directories("/run/sshd");
    sc::runCommand({"ip", "netns", "exec", ns, "/usr/sbin/sshd", "-f", hostDir + "/sshd_config"},
                   "starting " + name + "'s sshd");
    waitForPort(address, 22, 10);
}

void LabWorld::makeChain() {
    const std::string image = options_.dir + "/images/primary.img", mount = options_.dir + "/mnt/primary";
    say_("primary: 3 GiB btrfs image, chain " + chainPath());
    record("primary", {{"image", image}, {"mount", mount}});
    fs::create_directories(mount);
    sc::runCommand({"truncate", "-s", "3G", image}, "making the primary's image");
    sc::runCommand({"mkfs.btrfs", "-q", "-f", image}, "formatting the primary's image");
    sc::runCommand({"mount", "-o", "loop", image, mount}, "mounting the primary's image");
    sc::Chain chain = sc::Chain::init(chainPath(), {"demo-ledger", "sha256"});
    // A network device's configuration, logs and firmware: what the workload keeps changing.
    const std::string data = chain.paths().data;
    fs::create_directories(data + "/etc/network/ports");
    for (int port = 0; port < 8; ++port)
        sc::writeFileAtomically(data + "/etc/network/ports/eth" + std::to_string(port) + ".json",
                                nlohmann::json({{"state", "up"}, {"mtu", 1500}, {"vlan", 1}}).dump(2) + "\n");
    fs::create_directories(data + "/etc/firewall");
    sc::writeFileAtomically(data + "/etc/firewall/rules.json", "[]\n");
    fs::create_directories(data + "/var/log");
    std::string log;
    for (int line = 0; line < 20000; ++line)
        log += "2026-11-24T00:00:00Z app[42]: boot step " + std::to_string(line) + " ok\n";
    sc::writeFileAtomically(data + "/var/log/app.log", log);
    fs::create_directories(data + "/firmware");
    sc::runCommand({"sh", "-c", "head -c 8000000 /dev/urandom > \"$1\"", "sh", data + "/firmware/image.bin"},
                   "writing the firmware image");
    nlohmann::json ops = nlohmann::json::array({{{"op", "install"}, {"element", "firmware:main"}},
                                                {{"op", "configure"}, {"element", "network"}}});
    sc::commitBlock(chain, {"initial configuration", ops, {"firmware:main", "network"}});
}

void LabWorld::onboardReplicas() {
    sc::Chain chain = sc::Chain::open(chainPath());
    auto onboard = [&](int index, const std::string& via, const std::string& compress) {
        const std::string name = hostName(index);
        sc::OnboardingRequest request;
        request.replica.name = name;
        request.replica.url = hostUrl(index);
        request.replica.via = via;
        request.replica.compress = compress;
        request.replica.identity = via.empty() ? options_.dir + "/keys/client_ed25519" : "";
        request.acceptHostKey = fingerprintOf(options_.dir + "/hosts/" + name + "/host_ed25519.pub");
        sc::onboardReplica(chain, request, [&](const sc::OnboardingEvent& event) {
            if (event.kind == sc::OnboardingEvent::Kind::StepDone)
                say_(name + ": " + event.step + ": " + event.detail);
        });
    };
    onboard(0, "", "zstd:3");
    onboard(1, "", "");
    // r3 authorizes the key r2 relays with, and nothing else.
    {
        sc::EndpointPool pool(chain.identity());
        auto* relay = dynamic_cast<sc::RemoteEndpoint*>(
            &pool.get(sc::ReplicaRegistry(chain).resolve(hostName(1), {}).target()));
        if (!relay)
            throw sc::Error("lab: r2 cannot relay");
        sc::writeFileAtomically(options_.dir + "/hosts/r3/authorized_keys", relay->agent().relayPublicKey() + "\n",
                                0600);
    }
    onboard(2, "r2", "");
}

void LabWorld::startDaemonAndWorkload() {
    if (!::getgrnam("streamchain")) {
        sc::runCommand({"groupadd", "--system", "streamchain"}, "creating the streamchain group");
        record("group_created", true);
    }
    // The console's operator may onboard more hosts with the lab's key (and no other).
    fs::permissions(options_.dir + "/keys", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                                fs::perms::others_read | fs::perms::others_exec);
    pid_t daemon = spawnDetached({self(), "daemon", chainPath(), "--socket", options_.socket, "--metrics-port",
                                  std::to_string(options_.metricsPort), "--key-dir", options_.dir + "/keys"},
                                 options_.dir + "/daemon.log");
    record("daemon_pid", daemon);
    for (int i = 0; i < 100; ++i) {
        try {
            sc::controlRequest(options_.socket, {{"op", "status"}}, 1000);
            break;
        } catch (const sc::Error&) {
            if (i == 99)
                throw sc::Error("lab: the daemon did not come up (see " + options_.dir + "/daemon.log)");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    say_("daemon: pid " + std::to_string(daemon) + ", control socket " + options_.socket + ", metrics http://127.0.0.1:" +
         std::to_string(options_.metricsPort) + "/metrics");
    char interval[32];
    std::snprintf(interval, sizeof interval, "%g", options_.interval);
    pid_t workload = spawnDetached({self(), "lab", "workload", chainPath(), "--socket", options_.socket,
                                    "--interval", interval},
                                   options_.dir + "/workload.log");
    record("workload_pid", workload);
    say_("workload: pid " + std::to_string(workload) + ", a block every " + interval + " s");
}

void LabWorld::down() {
    stopProcess(state_.value("workload_pid", 0));
    stopProcess(state_.value("daemon_pid", 0));
    for (int i = 0; i < kHosts; ++i) {
        const std::string ns = hostNs(i);
        // Everything running in the host's namespace: its sshd and the sessions it serves.
        std::string pids;
        try {
            pids = sc::runCommand({"ip", "netns", "pids", ns}, "listing " + ns);
        } catch (const sc::Error&) {
            continue; // namespace already gone
        }
        std::istringstream list(pids);
        for (pid_t pid; list >> pid;)
            ::kill(pid, SIGKILL);
        quietly({"ip", "netns", "delete", ns});
        say_(hostName(i) + ": stopped");
    }
    quietly({"ip", "link", "delete", rootVeth()});
    quietly({"ip", "netns", "delete", switchNs()});
    std::vector<std::string> mounts;
    for (const auto& host : state_.value("hosts", nlohmann::json::array()))
        mounts.push_back(host.value("mount", std::string()));
    mounts.push_back(options_.dir + "/mnt/primary");
    for (int i = 0; i < kHosts; ++i)
        mounts.push_back(options_.dir + "/mnt/" + hostName(i));
    for (const auto& mount : mounts) {
        if (mount.empty() || !quietly({"mountpoint", "-q", mount}))
            continue;
        if (!quietly({"umount", mount}))
            quietly({"umount", "-l", mount});
    }
    if (state_.value("group_created", false))
        quietly({"groupdel", "streamchain"});
    std::error_code ec;
    fs::remove(state_.value("socket", options_.socket), ec);
    fs::remove_all(options_.dir, ec);
    if (ec)
        throw sc::Error("lab: cannot remove " + options_.dir + ": " + ec.message());
    say_("removed " + options_.dir);
}

} // namespace cli
