#pragma once
// The replicas registered with a chain (CHAIN/.streamchain/replicas.json) and the
// host keys pinned for them (CHAIN/.streamchain/known_hosts, 0600).
#include <optional>
#include <string>
#include <vector>

#include "core/endpoints/replica_endpoint.h"

namespace sc {

class Chain;

struct RegisteredReplica {
    std::string name;      // [A-Za-z0-9_.-], unique in the chain
    std::string url;       // as parseTargetSpec takes it
    std::string via;       // name of the replica that relays to this one; empty: fed by the primary
    std::string compress;  // "" (off) or "zstd[:L]"
    std::string identity;  // private key file for ssh; empty: ssh-agent / ~/.ssh
    std::string agentPath; // empty: deployed agent, else `streamchain` on the host's PATH
    std::string added;     // RFC 3339
    bool plain = false;    // no agent there: btrfs receive over SSH (see PlainEndpoint)
};

class ReplicaRegistry {
public:
    explicit ReplicaRegistry(const Chain& chain);
    const std::vector<RegisteredReplica>& replicas() const { return replicas_; }
    const RegisteredReplica* find(const std::string& name) const;
    void add(const RegisteredReplica& replica); // throws if the name is taken or malformed
    void remove(const std::string& name);       // throws if unknown or another replica is fed through it
    void save() const;                          // atomic

    std::string knownHostsFile() const { return knownHosts_; }
    // A registered name, or a target URL/path: the target and how to reach it.
    struct Resolved {
        TargetSpec spec;
        EndpointOptions options;
        const RegisteredReplica* registered = nullptr;
        std::vector<TargetRef> relays; // outermost first, for replicas fed through others
        TargetRef target() const { return {spec, options, relays}; }
    };
    Resolved resolve(const std::string& nameOrTarget, const EndpointOptions& overrides) const;

private:
    std::string file_;
    std::string knownHosts_;
    std::vector<RegisteredReplica> replicas_;
};

bool isValidReplicaName(const std::string& name);

} // namespace sc
