#pragma once
// Open connections to replicas, by target name, shared by everything that talks
// to them in one run (or for the daemon's lifetime). A replica behind relays is
// reached through its relay's open connection, which is opened first if needed.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/endpoints/replica_endpoint.h"
#include "core/ledger/chain_identity.h"

namespace sc {

class EndpointPool {
public:
    explicit EndpointPool(ChainIdentity chain) : chain_(std::move(chain)) {}

    // The endpoint for this target (keyed by spec.text), connecting to it and to the relays on
    // its way as needed. Throws sc::Error naming the hop that failed.
    ReplicaEndpoint& get(const TargetRef& target);
    // An endpoint opened elsewhere (onboarding's, after its checks).
    void adopt(const std::string& key, std::shared_ptr<ReplicaEndpoint> endpoint);
    // Close a target's endpoint and every endpoint reached through it.
    void drop(const std::string& key);
    bool contains(const std::string& key) const { return entries_.count(key) > 0; }

private:
    struct Entry {
        std::shared_ptr<ReplicaEndpoint> endpoint;
        std::vector<std::string> relays; // keys of the relays it is reached through
    };
    std::shared_ptr<ReplicaEndpoint> open(const TargetRef& target);

    ChainIdentity chain_;
    std::map<std::string, Entry> entries_;
};

// The relay at `index` of a target's route, as a target of its own (reached through the ones before).
TargetRef relayRef(const TargetRef& target, std::size_t index);

} // namespace sc
