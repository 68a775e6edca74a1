#pragma once
// What the control socket offers (docs/control-protocol.md): requests decoded
// and dispatched to the replication engine and to daemon jobs.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/daemon/control_access.h"
#include "core/daemon/control_jobs.h"
#include "core/daemon/sync_worker.h"

namespace sc {

class ControlService {
public:
    using EventSink = std::function<void(const nlohmann::json&)>;
    ControlService(AccessPolicy access, DaemonOptions options, EventSink onEvent);
    // Throws sc::Error for bad requests, RequestRefused for requests outside the peer's rights.
    nlohmann::json handle(const nlohmann::json& request, const ControlPeer& peer);
    static bool answersAtOnce(const nlohmann::json& request); // cheap enough for the socket's own thread

private:
    std::string chainOf(const nlohmann::json& request) const; // a served chain, or refused
    // Registered replicas pass; the rest are held to the peer's ad-hoc target rules.
    void checkTargets(const std::string& chain, const std::vector<std::string>& targets,
                      const ControlPeer& peer) const;
    nlohmann::json startReplicaAdd(const std::string& chain, nlohmann::json request, const ControlPeer& peer);
    nlohmann::json startStream(const std::string& chain, const nlohmann::json& request, const ControlPeer& peer);
    ControlAccess access_;
    SyncWorker replication_;
    ControlJobs jobs_;
};

} // namespace sc
