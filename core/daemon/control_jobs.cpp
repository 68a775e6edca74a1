#include "core/daemon/control_jobs.h"

#include "core/daemon/control_access.h"

namespace sc {

namespace {
constexpr std::size_t kKeptFinishedJobs = 50;
constexpr std::size_t kMaxRunningJobs = 16; // each is a thread, and most hold a connection
}

ControlJobs::~ControlJobs() {
    std::map<std::uint64_t, std::unique_ptr<Job>> jobs;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, job] : jobs_)
            job->cancelled = true;
        jobs.swap(jobs_);
    }
    for (auto& [id, job] : jobs)
        if (job->thread.joinable())
            job->thread.join();
}

std::uint64_t ControlJobs::start(const std::string& kind, const std::string& chain, Body body) {
    std::lock_guard lock(mutex_);
    // Forget the oldest finished jobs beyond the history bound.
    std::size_t finished = 0;
    for (auto& [id, job] : jobs_)
        finished += job->state != "running";
    for (auto it = jobs_.begin(); finished > kKeptFinishedJobs && it != jobs_.end();) {
        if (it->second->state != "running") {
            if (it->second->thread.joinable())
                it->second->thread.join();
            it = jobs_.erase(it);
            --finished;
        } else {
            ++it;
        }
    }
    if (jobs_.size() - finished >= kMaxRunningJobs)
        throw RequestRefused("max-jobs", std::to_string(kMaxRunningJobs) +
                                             " jobs are running; wait for one to finish or cancel one");
    auto job = std::make_unique<Job>();
    Job* raw = job.get();
    raw->id = nextId_++;
    raw->kind = kind;
    raw->chain = chain;
    jobs_.emplace(raw->id, std::move(job));
    onEvent_({{"event", "job_started"}, {"job", raw->id}, {"kind", kind}, {"chain", chain}});
    raw->thread = std::thread([this, raw, body = std::move(body)] {
        Context context{raw->id, raw->cancelled, [this, raw](const nlohmann::json& progress) {
                            onEvent_({{"event", "job_progress"}, {"job", raw->id}, {"kind", raw->kind},
                                      {"progress", progress}});
                        }};
        nlohmann::json done = {{"event", "job_done"}, {"job", raw->id}, {"kind", raw->kind}};
        try {
            nlohmann::json result = body(context);
            std::lock_guard guard(mutex_);
            raw->state = "done";
            raw->result = result;
            done["ok"] = true;
            done["result"] = result;
        } catch (const JobFailure& e) {
            std::lock_guard guard(mutex_);
            raw->state = raw->cancelled ? "cancelled" : "failed";
            raw->error = e.what();
            raw->detail = e.detail();
            done["ok"] = false;
            done["error"] = e.what();
            done["detail"] = e.detail();
        } catch (const std::exception& e) {
            std::lock_guard guard(mutex_);
            raw->state = raw->cancelled ? "cancelled" : "failed";
            raw->error = e.what();
            done["ok"] = false;
            done["error"] = e.what();
        }
        done["state"] = raw->state;
        onEvent_(done);
    });
    return raw->id;
}

bool ControlJobs::cancel(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto found = jobs_.find(id);
    if (found == jobs_.end() || found->second->state != "running")
        return false;
    found->second->cancelled = true;
    return true;
}

nlohmann::json ControlJobs::list() const {
    std::lock_guard lock(mutex_);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [id, job] : jobs_) {
        nlohmann::json j = {{"job", id}, {"kind", job->kind}, {"chain", job->chain}, {"state", job->state}};
        if (!job->error.empty())
            j["error"] = job->error;
        if (!job->result.is_null())
            j["result"] = job->result;
        if (!job->detail.is_null())
            j["detail"] = job->detail;
        list.push_back(j);
    }
    return list;
}

} // namespace sc
