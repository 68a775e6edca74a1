#pragma once
// Onboarding as JSON: one line per step or initial-sync progress, printed by
// `replica add --json` and reported as the `replica-add` job's progress.
#include <nlohmann/json.hpp>
#include <string>

#include "core/endpoints/replica_registry.h"
#include "core/replication/onboarding.h"

namespace sc {

// {event: step_started|step_done|progress, step, state: started|done, detail} for a step;
// {event: progress, step: initial-sync, bytes_done, bytes_total, rate, eta_seconds, wire_bytes} while sending.
nlohmann::json onboardingEventJson(const OnboardingEvent& event);
// {host_key: {type, fingerprint}}: why a replica-add job failed at an unknown host key.
nlohmann::json hostKeyDetailJson(const std::string& keyType, const std::string& fingerprint);
// {replica, registered: true}
nlohmann::json onboardingResultJson(const std::string& replica);

// `replica list --json`: {chain, replicas: [{name, url, via, compress, identity, agent_path, added, plain}]}
nlohmann::json registeredReplicasJson(const std::string& chainRoot, const std::vector<RegisteredReplica>& replicas);

} // namespace sc
