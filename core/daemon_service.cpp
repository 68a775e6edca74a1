#include "core/daemon_service.h"

#include "core/chain.h"
#include "core/daemon_queries.h"
#include "core/endpoint_pool.h"
#include "core/error.h"
#include "core/footprint_tree.h"
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

nlohmann::json displayPaths(const std::vector<std::string>& raw) {
    nlohmann::json shown = nlohmann::json::array();
    for (const auto& path : raw)
        shown.push_back(displayPath(path));
    return shown;
}

nlohmann::json verifyJob(const std::string& chainPath, const std::string& replica, DaemonJobs::Context& job) {
    Chain chain = Chain::open(chainPath);
    EndpointPool pool(chain.identity());
    ReplicaEndpoint& endpoint = pool.get(ReplicaRegistry(chain).resolve(replica, {}).target());
    ReplicaVerifyReport report = verifyReplica(chain, endpoint, [&](const ReplicaBlockVerdict& verdict) {
        if (job.cancelled)
            throw Error("verify cancelled", ExitCode::Interrupted);
        job.report({{"replica", replica},
                    {"height", verdict.height},
                    {"state", replicaBlockStateName(verdict.state)},
                    {"detail", verdict.detail},
                    {"paths", displayPaths(verdict.paths)}});
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
    // An unknown host key fails the job with the key to show; the client asks again with it accepted.
    nlohmann::json hostKey;
    onboarding.confirmHostKey = [&](const std::string& type, const std::string& fingerprint) {
        hostKey = {{"type", type}, {"fingerprint", fingerprint}};
        return false;
    };
    try {
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
    } catch (const Error& e) {
        if (hostKey.is_null())
            throw;
        throw JobFailure(e.what(), {{"host_key", hostKey}});
    }
    return {{"replica", onboarding.replica.name}, {"registered", true}};
}

nlohmann::json streamJob(ReplicationDaemon& replication, const std::string& chainPath, const nlohmann::json& request,
                         DaemonJobs::Context& job) {
    nlohmann::json result;
    replication.withConnections(chainPath, [&](const Chain& chain, EndpointPool& pool) {
        ReplicaRegistry registry(chain);
        SendRequest send;
        for (const auto& target : request.value("targets", std::vector<std::string>()))
            send.targets.push_back(registry.resolve(target, {}).target());
        const std::string mode = request.value("mode", std::string("auto"));
        if (mode != "auto" && mode != "full" && mode != "incremental")
            throw Error("stream: mode must be auto, full or incremental", ExitCode::Usage);
        send.full = mode == "full";
        send.incrementalOnly = mode == "incremental";
        if (!text(request, "compress").empty())
            send.compression = parseCompressionSpec(text(request, "compress"));
        if (request.contains("upto") && request["upto"].is_number_unsigned())
            send.upto = request["upto"].get<std::uint64_t>();
        SendReport report = sendBlocks(chain, send, [&](const SendEvent& event) {
            if (event.kind == SendEvent::Kind::Planned || event.kind == SendEvent::Kind::Finished)
                return;
            nlohmann::json progress = {{"bytes_done", event.progress.bytesDone},
                                       {"bytes_total", event.progress.bytesTotal},
                                       {"rate", event.progress.rate},
                                       {"eta_seconds", event.progress.etaSeconds},
                                       {"wire_bytes", event.wireBytes},
                                       {"height", event.height},
                                       {"targets", event.targets}};
            if (!event.error.empty())
                progress["error"] = event.error;
            job.report(progress);
        }, &job.cancelled, &pool);
        // Only registered replicas stay connected; a one-off target is let go with its lock.
        for (const auto& target : send.targets)
            if (!registry.find(target.spec.text))
                pool.drop(target.spec.text);
        nlohmann::json targets = nlohmann::json::array();
        for (const auto& t : report.targets)
            targets.push_back({{"target", t.target}, {"ok", t.ok}, {"error", t.error},
                               {"blocks", t.blocksReceived}, {"resumed_bytes", t.resumedBytes}});
        result = {{"targets", targets}, {"raw_bytes", report.rawBytes}, {"wire_bytes", report.wireBytes},
                  {"seconds", report.seconds}, {"all_ok", report.allOk()}};
        if (!report.allOk())
            throw JobFailure("stream: some targets failed", result);
    });
    return result;
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
    if (op == "stream") {
        std::string chain = chainOf(request);
        if (!request.contains("targets") || !request["targets"].is_array() || request["targets"].empty())
            throw Error("stream: no targets given", ExitCode::Usage);
        auto id = jobs_.start("stream", chain, [this, chain, request](DaemonJobs::Context& job) {
            return streamJob(replication_, chain, request, job);
        });
        return {{"ok", true}, {"job", id}};
    }
    if (op == "log")
        return blockList(Chain::open(chainOf(request)), request.value("limit", std::size_t{500}));
    if (op == "show") {
        if (!request.contains("height") || !request["height"].is_number_unsigned())
            throw Error("show: no valid height given", ExitCode::Usage);
        return blockDetail(Chain::open(chainOf(request)), request["height"].get<std::uint64_t>());
    }
    if (op == "replica-remove") {
        Chain chain = Chain::open(chainOf(request));
        ReplicaRegistry registry(chain);
        registry.remove(text(request, "name"));
        registry.save();
        return {{"ok", true}};
    }
    throw Error("unknown request \"" + op +
                "\" (status, subscribe, log, show, commit, sync, cancel, stream, verify, replica-add, "
                "replica-remove)");
}

} // namespace sc
