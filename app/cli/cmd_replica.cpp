#include "app/cli/commands.h"
#include "app/cli/output.h"
#include "core/base/error.h"
#include "core/endpoints/endpoint_pool.h"
#include "core/endpoints/remote_endpoint.h"
#include "core/endpoints/replica_registry.h"
#include "core/ledger/chain.h"
#include "core/messages/onboarding_messages.h"
#include "core/replication/onboarding.h"
#include "core/stream/transfer_meter.h"

#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace cli {

namespace {

int addReplica(const sc::Chain& chain, sc::OnboardingRequest request, bool json) {
    StatusLine status;
    if (!json && ::isatty(STDIN_FILENO) && request.acceptHostKey.empty()) {
        request.confirmHostKey = [&](const std::string& type, const std::string& fingerprint) {
            status.clear();
            std::fprintf(stderr, "The host shows a %s key with fingerprint\n    %s\nPin it for this chain? [y/N] ",
                         type.c_str(), fingerprint.c_str());
            std::string answer;
            std::getline(std::cin, answer);
            return answer == "y" || answer == "Y" || answer == "yes";
        };
    }
    sc::onboardReplica(chain, request, [&](const sc::OnboardingEvent& event) {
        using K = sc::OnboardingEvent::Kind;
        if (json) {
            printJson(sc::onboardingEventJson(event));
            return;
        }
        if (event.kind == K::StepStarted) {
            status.show(event.step + " ...");
        } else if (event.kind == K::StepDone) {
            status.clear();
            std::printf("  %-13s %s\n", event.step.c_str(), event.detail.c_str());
            std::fflush(stdout);
        } else if (event.send.kind == sc::SendEvent::Kind::Progress) {
            const auto& p = event.send.progress;
            status.show("initial-sync  " + sc::formatBytes(p.bytesDone) + " / " + sc::formatBytes(p.bytesTotal) + "  " +
                        sc::formatRate(p.rate) + "  ETA " + sc::formatDuration(p.etaSeconds));
        }
    });
    status.clear();
    if (!json)
        std::printf("replica %s added and in sync\n", request.replica.name.c_str());
    return 0;
}

int listReplicas(const sc::Chain& chain, bool json) {
    sc::ReplicaRegistry registry(chain);
    if (json) {
        printJson(sc::registeredReplicasJson(chain.paths().root, registry.replicas()));
        return 0;
    }
    if (registry.replicas().empty()) {
        std::printf("no replicas registered (add one with `streamchain replica add`)\n");
        return 0;
    }
    std::printf("%-16s %-50s %-10s %-6s %s\n", "NAME", "URL", "COMPRESS", "AGENT", "VIA");
    for (const auto& r : registry.replicas())
        std::printf("%-16s %-50s %-10s %-6s %s\n", r.name.c_str(), r.url.c_str(),
                    r.compress.empty() ? "-" : r.compress.c_str(), r.plain ? "plain" : "yes",
                    r.via.empty() ? "-" : r.via.c_str());
    return 0;
}

} // namespace

void addReplicaCommands(CLI::App& app, Handler& run) {
    auto* replica = app.add_subcommand("replica", "Register, list and remove the chain's replicas");
    replica->require_subcommand(1);

    struct AddOptions {
        std::string chain, name, url, via, compress, identity, acceptHostKey, agentPath;
        bool json = false, plain = false;
    };
    auto add = std::make_shared<AddOptions>();
    auto* addCmd = replica->add_subcommand(
        "add", "Onboard a replica in one step: connect, show and pin the host key, check the path is on btrfs\n"
               "with room, deploy the agent over SFTP if the host lacks it, run the initial full sync, register.\n"
               "On any failure the chain's replica list and pinned keys stay as they were.");
    addCmd->add_option("CHAIN", add->chain, "The chain directory")->required();
    addCmd->add_option("NAME", add->name, "A name for the replica (letters, digits, _ . -)")->required();
    addCmd->add_option("URL", add->url, "ssh://[user@]host[:port]/absolute/path")->required();
    addCmd->add_option("--via", add->via, "Fed by this registered replica (relay) instead of the primary");
    addCmd->add_option("--compress", add->compress, "zstd or zstd:LEVEL for this replica's streams");
    addCmd->add_option("--identity", add->identity, "SSH private key file (default: ssh-agent, then ~/.ssh/id_*)");
    addCmd->add_option("--accept-host-key", add->acceptHostKey,
                       "Pin the host key if it shows exactly this fingerprint (for scripts; else you are asked)");
    addCmd->add_option("--agent-path", add->agentPath, "Use this streamchain binary on the host instead of deploying");
    addCmd->add_flag("--plain", add->plain,
                     "No agent on the host: btrfs receive over SSH; verification there cannot re-hash contents");
    addCmd->add_flag("--json", add->json, "JSON lines: step_started, step_done, progress");
    addCmd->callback([&run, add] {
        run = [add] {
            sc::Chain chain = sc::Chain::open(add->chain);
            sc::OnboardingRequest request;
            request.replica = {add->name,     add->url,       add->via, add->compress,
                               add->identity, add->agentPath, {},       add->plain};
            request.acceptHostKey = add->acceptHostKey;
            return addReplica(chain, request, add->json);
        };
    });

    auto list = std::make_shared<std::pair<std::string, bool>>();
    auto* listCmd = replica->add_subcommand("list", "Show the registered replicas");
    listCmd->add_option("CHAIN", list->first, "The chain directory")->required();
    listCmd->add_flag("--json", list->second, "JSON instead of a table");
    listCmd->callback([&run, list] {
        run = [list] { return listReplicas(sc::Chain::open(list->first), list->second); };
    });

    auto relayKey = std::make_shared<std::pair<std::string, std::string>>();
    auto* keyCmd = replica->add_subcommand(
        "relay-key", "Print the SSH public key a registered replica uses to feed others (made on first use);\n"
                     "authorize it on a host before `replica add ... --via NAME`.");
    keyCmd->add_option("CHAIN", relayKey->first, "The chain directory")->required();
    keyCmd->add_option("NAME", relayKey->second, "The relay replica's name")->required();
    keyCmd->callback([&run, relayKey] {
        run = [relayKey] {
            sc::Chain chain = sc::Chain::open(relayKey->first);
            sc::EndpointPool pool(chain.identity());
            auto* relay = dynamic_cast<sc::RemoteEndpoint*>(
                &pool.get(sc::ReplicaRegistry(chain).resolve(relayKey->second, {}).target()));
            if (!relay)
                throw sc::Error(relayKey->second + " cannot relay: only replicas served by the streamchain agent can",
                                sc::ExitCode::Usage);
            std::printf("%s\n", relay->agent().relayPublicKey().c_str());
            return 0;
        };
    });

    auto remove = std::make_shared<std::pair<std::string, std::string>>();
    auto* removeCmd = replica->add_subcommand(
        "remove", "Unregister a replica. Its blocks stay on the host; its host key stays pinned.");
    removeCmd->add_option("CHAIN", remove->first, "The chain directory")->required();
    removeCmd->add_option("NAME", remove->second, "The replica's name")->required();
    removeCmd->callback([&run, remove] {
        run = [remove] {
            sc::Chain chain = sc::Chain::open(remove->first);
            sc::ReplicaRegistry registry(chain);
            registry.remove(remove->second);
            registry.save();
            std::printf("replica %s removed (its blocks stay on the host)\n", remove->second.c_str());
            return 0;
        };
    });
}

} // namespace cli
