#pragma once
// The daemon's replies and events as JSON: status, jobs, the sync worker's events and
// the plain ok/error answers. Keys and words come from wire_names.h.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/messages/replica_state.h"
#include "core/replication/send_blocks.h"

namespace sc {

// Replies.
nlohmann::json okReply();                                   // {ok: true}
nlohmann::json jobStartedReply(std::uint64_t job);          // {ok: true, job}
nlohmann::json subscribedReply();                           // {ok: true, subscribe: true}
nlohmann::json errorReply(const std::string& error);        // {ok: false, error}
nlohmann::json refusalReply(const std::string& error, const std::string& rule); // ... refused: rule

// Status: {ok, protocol, daemon: {pid, version, started}, chains: [...]} (the service adds jobs, access).
nlohmann::json chainStatusJson(const std::string& path, const std::string& name, std::optional<std::uint64_t> tip,
                               const std::vector<ReplicaState>& replicas);
nlohmann::json statusReplyJson(long pid, const std::string& version, const std::string& started,
                               const nlohmann::json& chains);

// The sync worker's events.
nlohmann::json blockEvent(const std::string& chain, std::uint64_t height, const std::string& hash);
nlohmann::json chainErrorEvent(const std::string& chain, const std::string& error);
nlohmann::json replicaEvent(const std::string& chain, const ReplicaState& state);
// {event: job, chain, ...streamProgressJson}: progress of the worker's own stream.
nlohmann::json syncProgressEvent(const std::string& chain, const SendEvent& event,
                                 const std::vector<std::string>& streaming);

// A job as status lists it and job_done reports it.
struct JobSnapshot {
    std::uint64_t id = 0;
    std::string kind, chain, state, error; // state: running, done, failed, cancelled
    nlohmann::json result, detail;         // null when absent
};
nlohmann::json jobEntryJson(const JobSnapshot& job); // {job, kind, chain, state, result?, error?, detail?}
nlohmann::json jobStartedEvent(const JobSnapshot& job);
nlohmann::json jobProgressEvent(const JobSnapshot& job, const nlohmann::json& progress);
nlohmann::json jobDoneEvent(const JobSnapshot& job); // {event, job, kind, ok, state, result|error, detail?}

} // namespace sc
