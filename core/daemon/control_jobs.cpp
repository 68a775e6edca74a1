#include "core/daemon/control_jobs.h"

#include "core/daemon/control_access.h"
#include "core/messages/wire_names.h"

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
        finished += job->state != wire::kJobRunning;
    for (auto it = jobs_.begin(); finished > kKeptFinishedJobs && it != jobs_.end();) {
        if (it->second->state != wire::kJobRunning) {
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
    onEvent_(jobStartedEvent(snapshotOf(*raw)));
    raw->thread = std::thread([this, raw, body = std::move(body)] {
        Context context{raw->id, raw->cancelled, [this, raw](const nlohmann::json& progress) {
                            onEvent_(jobProgressEvent(snapshotOf(*raw), progress));
                        }};
        nlohmann::json result, detail;
        std::string error;
        bool failed = true;
        try {
            result = body(context);
            failed = false;
        } catch (const JobFailure& e) {
            error = e.what();
            detail = e.detail();
        } catch (const std::exception& e) {
            error = e.what();
        }
        JobSnapshot done;
        {
            std::lock_guard guard(mutex_);
            raw->state = failed ? (raw->cancelled ? wire::kJobCancelled : wire::kJobFailed) : wire::kJobDone;
            raw->result = std::move(result);
            raw->error = std::move(error);
            raw->detail = std::move(detail);
            done = snapshotOf(*raw);
        }
        onEvent_(jobDoneEvent(done));
    });
    return raw->id;
}

bool ControlJobs::cancel(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto found = jobs_.find(id);
    if (found == jobs_.end() || found->second->state != wire::kJobRunning)
        return false;
    found->second->cancelled = true;
    return true;
}

JobSnapshot ControlJobs::snapshotOf(const Job& job) {
    return {job.id, job.kind, job.chain, job.state, job.error, job.result, job.detail};
}

nlohmann::json ControlJobs::list() const {
    std::lock_guard lock(mutex_);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [id, job] : jobs_)
        list.push_back(jobEntryJson(snapshotOf(*job)));
    return list;
}

} // namespace sc
