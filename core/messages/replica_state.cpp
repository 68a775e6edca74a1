#include "core/messages/replica_state.h"

#include "core/messages/wire_names.h"

#include <algorithm>

namespace sc {

nlohmann::json ReplicaState::toJson() const {
    double retryIn =
        std::max(0.0, std::chrono::duration<double>(nextAttempt - std::chrono::steady_clock::now()).count());
    return {{wire::kName, name},
            {wire::kUrl, url},
            {wire::kVia, via},
            {wire::kPhase, phase},
            {wire::kHeight, height ? nlohmann::json(*height) : nlohmann::json(nullptr)},
            {wire::kBlocksBehind, blocksBehind},
            {wire::kLagSeconds, lagSeconds},
            {wire::kBytesSent, bytesSent},
            {wire::kRawBytes, rawBytes},
            {wire::kResumedBytes, resumedBytes},
            {wire::kStreams, streams},
            {wire::kRate, rate},
            {wire::kLastError, lastError},
            {wire::kLastSuccess, lastSuccess},
            {wire::kFailures, failures},
            {wire::kRetryInSeconds, phase == wire::kPhaseRetrying ? retryIn : 0.0}};
}

} // namespace sc
