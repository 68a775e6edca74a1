#pragma once
// Making sure a replica host can run our agent: a matching one already there
// (deployed into the replica, or installed), or our own binary uploaded over SFTP.
#include <string>

namespace sc {

class SshSession;

struct AgentChoice {
    std::string agentPath; // for AgentClient: empty = the deployed agent
    std::string detail;    // what was found or done, for the operator
};

// Throws sc::Error saying why no agent can run there (other version, other machine type).
AgentChoice ensureAgent(SshSession& session, const std::string& remoteRoot, const std::string& requestedPath);

} // namespace sc
