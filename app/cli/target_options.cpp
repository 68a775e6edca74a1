#include "app/cli/target_options.h"

#include "core/endpoints/replica_registry.h"

namespace cli {

void addReachOptions(CLI::App* cmd, ReachOptions& options) {
    cmd->add_option("--identity", options.identity, "SSH private key file (default: ssh-agent, then ~/.ssh/id_*)");
    cmd->add_option("--accept-host-key", options.acceptHostKey,
                    "Pin an unknown host key if it shows exactly this fingerprint (SHA256:...)");
    cmd->add_option("--agent-path", options.agentPath,
                    "The streamchain binary on the replica host (default: the deployed agent, else `streamchain`)");
    cmd->add_flag("--plain", options.plain,
                  "ssh targets without the agent: btrfs receive over SSH; headers and UUIDs are checked, contents "
                  "are not re-hashed there, and streams go uncompressed");
}

std::vector<sc::TargetRef> resolveTargets(const sc::Chain& chain, const std::vector<std::string>& targets,
                                          const ReachOptions& reach) {
    sc::ReplicaRegistry registry(chain);
    sc::EndpointOptions overrides;
    overrides.identityFile = reach.identity;
    overrides.acceptHostKey = reach.acceptHostKey;
    overrides.agentPath = reach.agentPath;
    overrides.plain = reach.plain;
    std::vector<sc::TargetRef> refs;
    for (const auto& target : targets) {
        auto resolved = registry.resolve(target, overrides);
        refs.push_back(resolved.target());
    }
    return refs;
}

} // namespace cli
