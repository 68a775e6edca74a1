// The lab's workload: what a network device's configuration management would
// commit. Every few seconds a port changes, logs grow, a firewall rule comes or
// goes, and now and then the firmware is replaced; each change is one block with
// operations naming the elements it touched, committed through the daemon.
#include "app/cli/lab_world.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/base/process.h"
#include "core/daemon/control_client.h"
#include "core/ledger/chain.h"
#include "core/ledger/chain_identity.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

namespace cli {

namespace {

std::atomic<bool> stopWorkload{false};
void onStopWorkload(int) { stopWorkload = true; }

struct Change {
    std::string message;
    nlohmann::json operations = nlohmann::json::array();
    std::vector<std::string> elements;
    void add(const nlohmann::json& operation) {
        operations.push_back(operation);
        elements.push_back(operation["element"].get<std::string>());
    }
};

void changePort(const std::string& data, std::mt19937& random, Change& change) {
    int port = static_cast<int>(random() % 8);
    std::string file = data + "/etc/network/ports/eth" + std::to_string(port) + ".json";
    auto config = nlohmann::json::parse(sc::readSmallFile(file));
    std::string element = "port:eth" + std::to_string(port);
    if (random() % 2) {
        config["state"] = config["state"] == "up" ? "down" : "up";
        change.add({{"op", "set"}, {"element", element}, {"field", "state"}, {"value", config["state"]}});
    } else {
        config["vlan"] = 1 + random() % 100;
        change.add({{"op", "set"}, {"element", element}, {"field", "vlan"}, {"value", config["vlan"]}});
    }
    sc::writeFileAtomically(file, config.dump(2) + "\n");
}

void appendLog(const std::string& data, std::mt19937& random, Change& change) {
    std::ofstream log(data + "/var/log/app.log", std::ios::app);
    auto lines = static_cast<std::uint32_t>(500 + random() % 2000);
    for (std::uint32_t i = 0; i < lines; ++i)
        log << sc::utcTimestampNow() << " app[42]: request " << random() << " served in " << random() % 900
            << " us\n";
    change.add({{"op", "append"}, {"element", "log:app"}, {"lines", lines}});
}

void changeFirewall(const std::string& data, std::mt19937& random, Change& change) {
    std::string file = data + "/etc/firewall/rules.json";
    auto rules = nlohmann::json::parse(sc::readSmallFile(file));
    if (!rules.empty() && random() % 3 == 0) {
        rules.erase(rules.begin());
        change.add({{"op", "remove-rule"}, {"element", "firewall"}});
    } else {
        nlohmann::json rule = {{"allow", "tcp"}, {"port", 1024 + random() % 60000}};
        rules.push_back(rule);
        change.add({{"op", "add-rule"}, {"element", "firewall"}, {"rule", rule}});
    }
    sc::writeFileAtomically(file, rules.dump(2) + "\n");
}

void replaceFirmware(const std::string& data, Change& change) {
    sc::runCommand({"sh", "-c", "head -c 8000000 /dev/urandom > \"$1\"", "sh", data + "/firmware/image.bin"},
                   "writing the firmware image");
    change.add({{"op", "install"}, {"element", "firmware:main"}, {"bytes", 8000000}});
}

} // namespace

int runLabWorkload(const std::string& chainPath, const std::string& socket, double interval) {
    std::signal(SIGTERM, onStopWorkload);
    std::signal(SIGINT, onStopWorkload);
    const std::string data = sc::Chain::open(chainPath).paths().data;
    std::mt19937 random(static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    for (unsigned round = 1; !stopWorkload; ++round) {
        auto next = std::chrono::steady_clock::now() + std::chrono::duration<double>(interval);
        Change change;
        try {
            changePort(data, random, change);
            appendLog(data, random, change);
            if (round % 3 == 0)
                changeFirewall(data, random, change);
            if (round % 20 == 0)
                replaceFirmware(data, change);
            change.message = "workload round " + std::to_string(round);
            nlohmann::json reply = sc::controlRequest(socket, {{"op", "commit"},
                                                               {"chain", chainPath},
                                                               {"message", change.message},
                                                               {"operations", change.operations},
                                                               {"elements", change.elements}});
            std::printf("%s block %s: %s\n", sc::utcTimestampNow().c_str(), reply["height"].dump().c_str(),
                        change.operations.dump().c_str());
        } catch (const std::exception& e) {
            std::printf("%s round %u failed: %s\n", sc::utcTimestampNow().c_str(), round, e.what());
        }
        std::fflush(stdout);
        while (!stopWorkload && std::chrono::steady_clock::now() < next)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
}

} // namespace cli
