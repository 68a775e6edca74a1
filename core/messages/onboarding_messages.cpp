#include "core/messages/onboarding_messages.h"

#include "core/messages/send_messages.h"
#include "core/messages/wire_names.h"

namespace sc {

nlohmann::json onboardingEventJson(const OnboardingEvent& event) {
    using K = OnboardingEvent::Kind;
    if (event.kind == K::Send) {
        nlohmann::json j = sendProgressJson(event.send);
        j[wire::kEvent] = wire::kSendProgress;
        j[wire::kStep] = event.step;
        return j;
    }
    const bool done = event.kind == K::StepDone;
    return {{wire::kEvent, done ? wire::kStepDone : wire::kStepStarted},
            {wire::kStep, event.step},
            {wire::kState, done ? wire::kStepStateDone : wire::kStepStateStarted},
            {wire::kDetail, event.detail}};
}

nlohmann::json hostKeyDetailJson(const std::string& keyType, const std::string& fingerprint) {
    return {{wire::kHostKey, {{wire::kType, keyType}, {wire::kFingerprint, fingerprint}}}};
}

nlohmann::json onboardingResultJson(const std::string& replica) {
    return {{wire::kReplica, replica}, {wire::kRegistered, true}};
}

nlohmann::json registeredReplicasJson(const std::string& chainRoot,
                                      const std::vector<RegisteredReplica>& replicas) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : replicas)
        list.push_back({{wire::kName, r.name},
                        {wire::kUrl, r.url},
                        {wire::kVia, r.via},
                        {wire::kCompress, r.compress},
                        {wire::kIdentity, r.identity},
                        {wire::kAgentPath, r.agentPath},
                        {wire::kAdded, r.added},
                        {wire::kPlain, r.plain}});
    return {{wire::kChain, chainRoot}, {wire::kReplicas, list}};
}

} // namespace sc
