#include "core/messages/daemon_messages.h"

#include "core/messages/send_messages.h"
#include "core/messages/wire_names.h"

namespace sc {

nlohmann::json okReply() {
    return {{wire::kOk, true}};
}

nlohmann::json jobStartedReply(std::uint64_t job) {
    return {{wire::kOk, true}, {wire::kJob, job}};
}

nlohmann::json subscribedReply() {
    return {{wire::kOk, true}, {wire::kSubscribe, true}};
}

nlohmann::json errorReply(const std::string& error) {
    return {{wire::kOk, false}, {wire::kError, error}};
}

nlohmann::json refusalReply(const std::string& error, const std::string& rule) {
    return {{wire::kOk, false}, {wire::kError, error}, {wire::kRefused, rule}};
}

nlohmann::json chainStatusJson(const std::string& path, const std::string& name,
                               std::optional<std::uint64_t> tip, const std::vector<ReplicaState>& replicas) {
    nlohmann::json states = nlohmann::json::array();
    for (const auto& state : replicas)
        states.push_back(state.toJson());
    return {{wire::kPath, path},
            {wire::kName, name},
            {wire::kTip, tip ? nlohmann::json(*tip) : nlohmann::json(nullptr)},
            {wire::kReplicas, states}};
}

nlohmann::json statusReplyJson(long pid, const std::string& version, const std::string& started,
                               const nlohmann::json& chains) {
    return {{wire::kOk, true},
            {wire::kProtocol, wire::kProtocolVersion},
            {wire::kDaemon, {{wire::kPid, pid}, {wire::kVersion, version}, {wire::kStarted, started}}},
            {wire::kChains, chains}};
}

nlohmann::json blockEvent(const std::string& chain, std::uint64_t height, const std::string& hash) {
    return {{wire::kEvent, wire::kEventBlock},
            {wire::kChain, chain},
            {wire::kHeight, height},
            {wire::kHash, hash}};
}

nlohmann::json chainErrorEvent(const std::string& chain, const std::string& error) {
    return {{wire::kEvent, wire::kEventError}, {wire::kChain, chain}, {wire::kError, error}};
}

nlohmann::json replicaEvent(const std::string& chain, const ReplicaState& state) {
    return {{wire::kEvent, wire::kEventReplica}, {wire::kChain, chain}, {wire::kReplica, state.toJson()}};
}

nlohmann::json syncProgressEvent(const std::string& chain, const SendEvent& event,
                                 const std::vector<std::string>& streaming) {
    nlohmann::json j = streamProgressJson(event, streaming);
    j[wire::kEvent] = wire::kEventSync;
    j[wire::kChain] = chain;
    return j;
}

nlohmann::json jobEntryJson(const JobSnapshot& job) {
    nlohmann::json j = {
        {wire::kJob, job.id}, {wire::kKind, job.kind}, {wire::kChain, job.chain}, {wire::kState, job.state}};
    if (!job.error.empty())
        j[wire::kError] = job.error;
    if (!job.result.is_null())
        j[wire::kResult] = job.result;
    if (!job.detail.is_null())
        j[wire::kDetail] = job.detail;
    return j;
}

nlohmann::json jobStartedEvent(const JobSnapshot& job) {
    return {{wire::kEvent, wire::kEventJobStarted},
            {wire::kJob, job.id},
            {wire::kKind, job.kind},
            {wire::kChain, job.chain}};
}

nlohmann::json jobProgressEvent(const JobSnapshot& job, const nlohmann::json& progress) {
    return {{wire::kEvent, wire::kEventJobProgress},
            {wire::kJob, job.id},
            {wire::kKind, job.kind},
            {wire::kProgress, progress}};
}

nlohmann::json jobDoneEvent(const JobSnapshot& job) {
    const bool ok = job.state == wire::kJobDone;
    nlohmann::json j = {{wire::kEvent, wire::kEventJobDone},
                        {wire::kJob, job.id},
                        {wire::kKind, job.kind},
                        {wire::kOk, ok},
                        {wire::kState, job.state}};
    if (ok)
        j[wire::kResult] = job.result;
    else
        j[wire::kError] = job.error;
    if (!ok && !job.detail.is_null())
        j[wire::kDetail] = job.detail;
    return j;
}

} // namespace sc
