#pragma once
// Long operations the daemon runs for its clients (verify a replica, onboard one):
// each on its own thread, answered at once with a job id, reported through events
// (job_started, job_progress, job_done with the result or error), cancellable
// between steps, and kept in a bounded history so clients see finished results.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "core/base/error.h"
#include "core/messages/daemon_messages.h"
#include "core/messages/wire_names.h"

namespace sc {

// A job failure with structured detail for the client (e.g. the host key to confirm).
class JobFailure : public Error {
public:
    JobFailure(const std::string& message, nlohmann::json detail) : Error(message), detail_(std::move(detail)) {}
    const nlohmann::json& detail() const { return detail_; }

private:
    nlohmann::json detail_;
};

class ControlJobs {
public:
    struct Context {
        std::uint64_t id;
        const std::atomic<bool>& cancelled;
        std::function<void(const nlohmann::json& progress)> report;
    };
    using Body = std::function<nlohmann::json(Context& context)>; // returns the result; throws to fail

    explicit ControlJobs(std::function<void(const nlohmann::json&)> onEvent) : onEvent_(std::move(onEvent)) {}
    ~ControlJobs(); // cancels and joins every running job

    std::uint64_t start(const std::string& kind, const std::string& chain, Body body);
    bool cancel(std::uint64_t id);
    nlohmann::json list() const; // running and recent jobs

private:
    struct Job {
        std::uint64_t id;
        std::string kind, chain, state = wire::kJobRunning, error;
        nlohmann::json detail; // of a failure
        nlohmann::json result;
        std::atomic<bool> cancelled{false};
        std::thread thread;
    };
    static JobSnapshot snapshotOf(const Job& job); // under mutex_ once the job's thread runs
    std::function<void(const nlohmann::json&)> onEvent_;
    mutable std::mutex mutex_;
    std::map<std::uint64_t, std::unique_ptr<Job>> jobs_;
    std::uint64_t nextId_ = 1;
};

} // namespace sc
