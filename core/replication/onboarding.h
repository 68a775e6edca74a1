#pragma once
// `replica add`: one action that takes a host from nothing to a registered,
// in-sync replica, step by step, and changes nothing in the chain's
// configuration (replica list, pinned host keys) unless every step succeeded.
#include <functional>
#include <string>

#include "core/endpoints/replica_registry.h"
#include "core/replication/send_blocks.h"

namespace sc {

class Chain;

struct OnboardingRequest {
    RegisteredReplica replica;  // name, url, compress, identity, agentPath
    std::string acceptHostKey;  // "SHA256:..." for scripts; else ask through confirmHostKey
    std::function<bool(const std::string& keyType, const std::string& fingerprint)> confirmHostKey;
};

struct OnboardingEvent {
    enum class Kind { StepStarted, StepDone, Send } kind;
    std::string step;   // "connect", "host-key", "check-path", "agent", "prepare", "initial-sync", "register"
    std::string detail; // what was found ("btrfs, 12.3 GiB free", "deployed 0.1.0")
    SendEvent send{SendEvent::Kind::Progress};
};

// Throws sc::Error "replica NAME: <step>: <why>" at the first failing step.
void onboardReplica(const Chain& chain, const OnboardingRequest& request,
                    const std::function<void(const OnboardingEvent&)>& onEvent);

} // namespace sc
