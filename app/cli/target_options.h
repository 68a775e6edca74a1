#pragma once
// Options shared by every command that reaches replicas: how to authenticate and
// which host key to accept, and turning names or URLs into targets.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/endpoints/replica_endpoint.h"

namespace sc {
class Chain;
}

namespace cli {

struct ReachOptions {
    std::string identity, acceptHostKey, agentPath;
    bool plain = false;
};

void addReachOptions(CLI::App* cmd, ReachOptions& options);
std::vector<sc::TargetRef> resolveTargets(const sc::Chain& chain, const std::vector<std::string>& targets,
                                          const ReachOptions& reach);

} // namespace cli
