#pragma once
// What the control socket offers (docs/control-protocol.md): requests decoded
// and dispatched to the replication engine and to daemon jobs.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/daemon_jobs.h"
#include "core/replication_daemon.h"

namespace sc {

class DaemonService {
public:
    using EventSink = std::function<void(const nlohmann::json&)>;
    DaemonService(std::vector<std::string> chains, DaemonOptions options, EventSink onEvent);
    nlohmann::json handle(const nlohmann::json& request); // throws sc::Error for bad requests

private:
    std::string chainOf(const nlohmann::json& request) const;
    std::vector<std::string> chains_;
    ReplicationDaemon replication_;
    DaemonJobs jobs_;
};

} // namespace sc
