#include "core/daemon_service.h"

#include "core/chain.h"
#include "core/endpoint_pool.h"
#include "core/error.h"
#include "core/onboarding.h"
#include "core/replica_registry.h"
#include "core/replica_verify.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace sc {

namespace {

std::string text(const nlohmann::json& request, const char* key) {
    if (!request.contains(key) || !request[key].is_string())
        return {};
    return request[key].get<std::string>();
}

nlohmann::json verifyJob(const std::string& chainPath, const std::string& replica, DaemonJobs::Context& job) {
    Chain chain = Chain::open(chainPath);
    EndpointPool pool(chain.identity());
    ReplicaEndpoint& endpoint = pool.get(ReplicaRegistry(chain).resolve(replica, {}).target());
    ReplicaVerifyReport report = verifyReplica(chain, endpoint, [&](const ReplicaBlockVerdict& verdict) {
        if (job.cancelled)
            throw Error("verify cancelled", ExitCode::Interrupted);
        job.report({{"height", verdict.height},
                    {"state", replicaBlockStateName(verdict.state)},
                    {"detail", verdict.detail},
                    {"paths", verdict.paths}});
    });
    nlohmann::json counts;
    for (auto state : {ReplicaBlockState::Match, ReplicaBlockState::Mismatch, ReplicaBlockState::Missing,
                       ReplicaBlockState::Foreign, ReplicaBlockState::Unhashed})
        counts[replicaBlockStateName(state)] = report.count(state);
    return {{"replica", replica}, {"all_match", report.allMatch()}, {"counts", counts}};
}

nlohmann::json onboardJob(const std::string& chainPath, const nlohmann::json& request, DaemonJobs::Context& job) {
    Chain chain = Chain::open(chainPath);
    OnboardingRequest onboarding;
    onboarding.replica = {text(request, "name"),     text(request, "url"),        text(request, "via"),
                          text(request, "compress"), text(request, "identity"),   text(request, "agent_path"),
                          {},                        request.value("plain", false)};
    onboarding.acceptHostKey = text(request, "accept_host_key");
    onboardReplica(chain, onboarding, [&](const OnboardingEvent& event) {
        if (job.cancelled)
            throw Error("onboarding cancelled", ExitCode::Interrupted);
        if (event.kind == OnboardingEvent::Kind::Send) {
            job.report({{"step", "initial-sync"},
                        {"bytes_done", event.send.progress.bytesDone},
                        {"bytes_total", event.send.progress.bytesTotal},
                        {"rate", event.send.progress.rate}});
            return;
        }
        job.report({{"step", event.step},
                    {"state", event.kind == OnboardingEvent::Kind::StepDone ? "done" : "started"},
                    {"detail", event.detail}});
    });
    return {{"replica", onboarding.replica.name}, {"registered", true}};
}

} // namespace

DaemonService::DaemonService(std::vector<std::string> chains, DaemonOptions options, EventSink onEvent)
    : chains_(chains), replication_(std::move(chains), options, onEvent), jobs_(onEvent) {}

std::string DaemonService::chainOf(const nlohmann::json& request) const {
    std::string chain = text(request, "chain");
    if (chain.empty() && chains_.size() == 1)
        return chains_.front();
    if (chain.empty())
        throw Error("request names no chain", ExitCode::Usage);
    return chain;
}

nlohmann::json DaemonService::handle(const nlohmann::json& request) {
    const std::string op = text(request, "op");
    if (op == "status") {
        nlohmann::json status = replication_.status();
        status["jobs"] = jobs_.list();
        return status;
    }
    if (op == "subscribe")
        return {{"ok", true}, {"subscribe", true}};
    if (op == "commit")
        return replication_.commit(chainOf(request), request);
    if (op == "sync") {
        replication_.syncNow(chainOf(request));
        return {{"ok", true}};
    }
    if (op == "cancel") {
        if (request.contains("job"))
            return {{"ok", jobs_.cancel(request["job"].get<std::uint64_t>())}};
        replication_.cancel(chainOf(request));
        return {{"ok", true}};
    }
    if (op == "verify") {
        std::string chain = chainOf(request), replica = text(request, "replica");
        if (replica.empty())
            throw Error("verify: no replica given", ExitCode::Usage);
        auto id = jobs_.start("verify", chain, [chain, replica](DaemonJobs::Context& job) {
            return verifyJob(chain, replica, job);
        });
        return {{"ok", true}, {"job", id}};
    }
    if (op == "replica-add") {
        std::string chain = chainOf(request);
        auto id = jobs_.start("replica-add", chain, [chain, request](DaemonJobs::Context& job) {
            return onboardJob(chain, request, job);
        });
        return {{"ok", true}, {"job", id}};
    }
    if (op == "replica-remove") {
        Chain chain = Chain::open(chainOf(request));
        ReplicaRegistry registry(chain);
        registry.remove(text(request, "name"));
        registry.save();
        return {{"ok", true}};
    }
    throw Error("unknown request \"" + op +
                "\" (status, subscribe, commit, sync, cancel, verify, replica-add, replica-remove)");
}

} // namespace sc
