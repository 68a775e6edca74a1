#pragma once
// `streamchain lab`: a self-contained demo world on this machine. A primary
// chain on a loop image; replica hosts r1, r2, r3 in network namespaces, each
// with its own sshd, host key and btrfs image (r3 fed by r2 as a relay); every
// replica onboarded; a daemon; a workload committing a block every few seconds.
// Everything it creates is written to a state file as it goes, so `lab down`
// removes every trace, also after a setup that failed halfway.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace cli {

struct LabOptions {
    std::string dir = "/var/lib/streamchain-lab";
    std::string name = "sclab"; // prefix of its namespaces and links (tests pick their own)
    std::string socket = "/run/streamchain/control.sock";
    double interval = 3;    // seconds between workload commits
    int metricsPort = 9464; // the daemon's loopback metrics
};

class LabWorld {
public:
    explicit LabWorld(LabOptions options, std::function<void(const std::string&)> say);
    void up();   // throws sc::Error; what was made so far stays recorded for down()
    void down(); // removes what the state file lists; quiet about what is already gone
    nlohmann::json state() const { return state_; }
    std::string chainPath() const { return options_.dir + "/mnt/primary/ledger"; }

private:
    void record(const std::string& key, const nlohmann::json& value);
    void makeNetwork();
    void makeHost(int index);
    void makeChain();
    void onboardReplicas();
    void startDaemonAndWorkload();
    std::string hostUrl(int index) const;
    std::string switchNs() const { return options_.name + "-sw"; }
    std::string rootVeth() const { return options_.name + "0"; }
    std::string hostNs(int index) const;

    LabOptions options_;
    std::function<void(const std::string&)> say_;
    nlohmann::json state_ = nlohmann::json::object();
};

// Commits a realistic block through the daemon every `interval` seconds until stopped.
int runLabWorkload(const std::string& chain, const std::string& socket, double interval);

} // namespace cli
