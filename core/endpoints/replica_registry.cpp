#include "core/endpoints/replica_registry.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/ledger/chain.h"

#include <filesystem>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace sc {

bool isValidReplicaName(const std::string& name) {
    return !name.empty() && name.size() <= 64 && name.front() != '-' && name.front() != '.' &&
           name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
               std::string::npos;
}

ReplicaRegistry::ReplicaRegistry(const Chain& chain)
    : file_(chain.paths().meta + "/replicas.json"), knownHosts_(chain.paths().meta + "/known_hosts") {
    if (!fs::exists(file_))
        return;
    auto j = nlohmann::json::parse(readSmallFile(file_), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("replicas") || !j["replicas"].is_array())
        throw Error(file_ + " is damaged (not the replica list streamchain writes)");
    for (const auto& entry : j["replicas"]) {
        RegisteredReplica r;
        r.name = entry.value("name", std::string());
        r.url = entry.value("url", std::string());
        r.via = entry.value("via", std::string());
        r.compress = entry.value("compress", std::string());
        r.identity = entry.value("identity", std::string());
        r.agentPath = entry.value("agent_path", std::string());
        r.added = entry.value("added", std::string());
        r.plain = entry.value("plain", false);
        if (!isValidReplicaName(r.name) || r.url.empty())
            throw Error(file_ + " is damaged (a replica without a valid name or URL)");
        replicas_.push_back(r);
    }
}

const RegisteredReplica* ReplicaRegistry::find(const std::string& name) const {
    for (const auto& r : replicas_)
        if (r.name == name)
            return &r;
    return nullptr;
}

void ReplicaRegistry::add(const RegisteredReplica& replica) {
    if (!isValidReplicaName(replica.name))
        throw Error("replica name \"" + replica.name + "\" is not valid (letters, digits, _ . - only)", ExitCode::Usage);
    if (find(replica.name))
        throw Error("a replica named " + replica.name + " is already registered", ExitCode::Usage);
    for (const auto& r : replicas_)
        if (r.url == replica.url)
            throw Error(replica.url + " is already registered as " + r.name, ExitCode::Usage);
    if (!replica.via.empty() && !find(replica.via))
        throw Error("--via " + replica.via + ": no such replica", ExitCode::Usage);
    if (!replica.via.empty() && find(replica.via)->plain)
        throw Error("--via " + replica.via + ": a plain replica (no agent) cannot relay", ExitCode::Usage);
    replicas_.push_back(replica);
}

void ReplicaRegistry::remove(const std::string& name) {
    if (!find(name))
        throw Error("no replica named " + name, ExitCode::Usage);
    for (const auto& r : replicas_)
        if (r.via == name)
            throw Error("replica " + r.name + " is fed through " + name + "; remove it first", ExitCode::Usage);
    std::erase_if(replicas_, [&](const RegisteredReplica& r) { return r.name == name; });
}

void ReplicaRegistry::save() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : replicas_)
        list.push_back({{"name", r.name},
                        {"url", r.url},
                        {"via", r.via},
                        {"compress", r.compress},
                        {"identity", r.identity},
                        {"agent_path", r.agentPath},
                        {"added", r.added},
                        {"plain", r.plain}});
    writeFileAtomically(file_, nlohmann::json({{"format", 1}, {"replicas", list}}).dump(2) + "\n", 0600);
}

ReplicaRegistry::Resolved ReplicaRegistry::resolve(const std::string& nameOrTarget,
                                                   const EndpointOptions& overrides) const {
    Resolved resolved;
    resolved.options = overrides;
    resolved.options.knownHostsFile = knownHosts_;
    if (const RegisteredReplica* r = find(nameOrTarget)) {
        resolved.registered = r;
        resolved.spec = parseTargetSpec(r->url);
        resolved.spec.text = r->name;
        if (resolved.options.identityFile.empty())
            resolved.options.identityFile = r->identity;
        if (resolved.options.agentPath.empty())
            resolved.options.agentPath = r->agentPath;
        resolved.options.plain = resolved.options.plain || r->plain;
        // The relays it is fed through, outermost (the one the primary reaches) first.
        for (const RegisteredReplica* hop = r; !hop->via.empty();) {
            const RegisteredReplica* relay = find(hop->via);
            if (!relay || resolved.relays.size() > replicas_.size())
                throw Error(file_ + " is damaged (replica " + hop->name + " is fed through " + hop->via +
                            ", which is not a registered replica or leads in a circle)");
            TargetRef ref;
            ref.spec = parseTargetSpec(relay->url);
            ref.spec.text = relay->name;
            ref.options.knownHostsFile = knownHosts_;
            ref.options.identityFile = relay->identity;
            ref.options.agentPath = relay->agentPath;
            resolved.relays.insert(resolved.relays.begin(), std::move(ref));
            hop = relay;
        }
        return resolved;
    }
    // A bare word that is neither a registered name nor an existing directory is a typo,
    // not a request to create a replica directory here.
    if (isValidReplicaName(nameOrTarget) && !fs::exists(nameOrTarget))
        throw Error("no replica named " + nameOrTarget + " (see `streamchain replica list`); for a new local "
                                                         "target give a path such as ./" + nameOrTarget,
                    ExitCode::Usage);
    resolved.spec = parseTargetSpec(nameOrTarget);
    return resolved;
}

} // namespace sc
