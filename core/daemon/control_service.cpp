#include "core/daemon/control_service.h"

#include "core/base/error.h"
#include "core/daemon/control_queries.h"
#include "core/endpoints/endpoint_pool.h"
#include "core/endpoints/replica_registry.h"
#include "core/footprint/footprint_tree.h"
#include "core/ledger/chain.h"
#include "core/messages/daemon_messages.h"
#include "core/messages/onboarding_messages.h"
#include "core/messages/send_messages.h"
#include "core/messages/verify_messages.h"
#include "core/messages/wire_names.h"
#include "core/replica/replica_target.h"
#include "core/replication/onboarding.h"
#include "core/replication/replica_verify.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace sc {

namespace {

constexpr std::size_t kMaxLogBlocks = 5000; // one reply stays a few MiB at most
constexpr std::size_t kMaxStreamTargets = 64;

std::string text(const nlohmann::json& request, const char* key) {
    if (!request.contains(key) || !request[key].is_string())
        return {};
    return request[key].get<std::string>();
}

nlohmann::json verifyJob(const std::string& chainPath, const std::string& replica, ControlJobs::Context& job) {
    Chain chain = Chain::open(chainPath);
    EndpointPool pool(chain.identity());
    ReplicaEndpoint& endpoint = pool.get(ReplicaRegistry(chain).resolve(replica, {}).target());
    ReplicaVerifyReport report = verifyReplica(chain, endpoint, [&](const ReplicaBlockVerdict& verdict) {
        if (job.cancelled)
            throw Error("verify cancelled", ExitCode::Interrupted);
        job.report(blockVerdictJson(replica, verdict));
    });
    return replicaVerifyResultJson(replica, report);
}

nlohmann::json onboardJob(const std::string& chainPath, const nlohmann::json& request, ControlJobs::Context& job) {
    Chain chain = Chain::open(chainPath);
    OnboardingRequest onboarding;
    onboarding.replica = {text(request, "name"),     text(request, "url"),        text(request, "via"),
                          text(request, "compress"), text(request, "identity"),   text(request, "agent_path"),
                          {},                        request.value("plain", false)};
    onboarding.acceptHostKey = text(request, "accept_host_key");
    // An unknown host key fails the job with the key to show; the client asks again with it accepted.
    nlohmann::json hostKey;
    onboarding.confirmHostKey = [&](const std::string& type, const std::string& fingerprint) {
        hostKey = hostKeyDetailJson(type, fingerprint);
        return false;
    };
    try {
        onboardReplica(chain, onboarding, [&](const OnboardingEvent& event) {
        if (job.cancelled)
            throw Error("onboarding cancelled", ExitCode::Interrupted);
        job.report(onboardingEventJson(event));
        });
    } catch (const Error& e) {
        if (hostKey.is_null())
            throw;
        throw JobFailure(e.what(), hostKey);
    }
    return onboardingResultJson(onboarding.replica.name);
}

nlohmann::json streamJob(SyncWorker& replication, const std::string& chainPath, const nlohmann::json& request,
                         ControlJobs::Context& job) {
    nlohmann::json result;
    replication.withConnections(chainPath, [&](const Chain& chain, EndpointPool& pool) {
        if (job.cancelled) // it waited for the connections while the daemon began to stop
            throw Error("stream cancelled", ExitCode::Interrupted);
        ReplicaRegistry registry(chain);
        SendRequest send;
        std::map<std::string, std::string> named; // replica location -> how the request named it
        for (const auto& target : request.value("targets", std::vector<std::string>())) {
            send.targets.push_back(registry.resolve(target, {}).target());
            auto [seen, fresh] = named.emplace(targetUrl(send.targets.back().spec), target);
            if (!fresh) // two endpoints for one replica: the second would wait for the first's lock
                throw Error("stream: " + seen->second + " and " + target + " are the same replica", ExitCode::Usage);
        }
        // Only registered replicas stay connected; a one-off target is let go with its lock,
        // however the stream ends.
        struct OneOffTargets {
            EndpointPool& pool;
            std::vector<std::string> keys;
            ~OneOffTargets() {
                for (const auto& key : keys)
                    pool.drop(key);
            }
        } oneOff{pool, {}};
        for (const auto& target : send.targets)
            if (!registry.find(target.spec.text))
                oneOff.keys.push_back(target.spec.text);
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
            job.report(streamProgressJson(event, {}));
        }, &job.cancelled, &pool);
        result = sendReportJson(report);
        if (!report.allOk())
            throw JobFailure("stream: some targets failed", result);
    });
    return result;
}

// What this peer may use, so the console can offer it (onboarding keys by name).
nlohmann::json accessOf(const ControlAccess& access, const ControlPeer& peer) {
    nlohmann::json keys = nlohmann::json::array();
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(access.policy().keyDirectory, ec)) {
        std::string name = entry.path().filename().string();
        if (entry.is_regular_file(ec) && !name.ends_with(".pub") && name.front() != '.')
            keys.push_back(name);
    }
    std::sort(keys.begin(), keys.end());
    return {{wire::kPrivileged, peer.privileged},
            {wire::kKeyDirectory, access.policy().keyDirectory},
            {wire::kKeys, keys},
            {wire::kLocalRoots, access.policy().localRoots}};
}

} // namespace

ControlService::ControlService(AccessPolicy access, DaemonOptions options, EventSink onEvent)
    : access_(access), replication_(access.servedChains, options, onEvent), jobs_(onEvent) {}

bool ControlService::answersAtOnce(const nlohmann::json& request) {
    const std::string op = text(request, "op");
    return op == "status" || op == "subscribe" || op == "sync" || op == "cancel";
}

std::string ControlService::chainOf(const nlohmann::json& request) const {
    if (request.contains("chain") && !request["chain"].is_string())
        throw Error("\"chain\" must be a path", ExitCode::Usage);
    return access_.servedChain(text(request, "chain"));
}

void ControlService::checkTargets(const std::string& chain, const std::vector<std::string>& targets,
                                 const ControlPeer& peer) const {
    ReplicaRegistry registry(Chain::open(chain));
    for (const auto& target : targets)
        if (!registry.find(target))
            access_.checkAdHocTarget(target, peer);
}

nlohmann::json ControlService::startReplicaAdd(const std::string& chain, nlohmann::json request,
                                              const ControlPeer& peer) {
    if (!text(request, "agent_path").empty())
        access_.checkRootOnly("agent_path", peer);
    if (parseTargetSpec(text(request, "url")).kind == TargetSpec::Kind::Local)
        access_.checkAdHocTarget(text(request, "url"), peer);
    else if (text(request, "via").empty())
        request["identity"] = access_.identityFor(text(request, "identity"), peer);
    auto id = jobs_.start("replica-add", chain, [chain, request](ControlJobs::Context& job) {
        return onboardJob(chain, request, job);
    });
    return jobStartedReply(id);
}

nlohmann::json ControlService::handle(const nlohmann::json& request, const ControlPeer& peer) {
    const std::string op = text(request, "op");
    if (op == "status") {
        nlohmann::json status = replication_.status();
        status[wire::kJobs] = jobs_.list();
        status[wire::kAccess] = accessOf(access_, peer);
        return status;
    }
    if (op == "subscribe")
        return subscribedReply();
    if (op == "cancel" && request.contains("job")) {
        if (!request["job"].is_number_unsigned())
            throw Error("cancel: \"job\" must be a job number", ExitCode::Usage);
        return {{wire::kOk, jobs_.cancel(request["job"].get<std::uint64_t>())}};
    }
    static const std::set<std::string> chainRequests = {"commit", "sync", "cancel", "verify", "replica-add",
                                                        "stream", "log", "show", "replica-remove"};
    if (!chainRequests.count(op))
        throw Error("unknown request \"" + op +
                    "\" (status, subscribe, log, show, commit, sync, cancel, stream, verify, replica-add, "
                    "replica-remove)");
    // Every request that names a chain is held to the served chains before anything opens it.
    const std::string chain = chainOf(request);
    if (op == "commit")
        return replication_.commit(chain, request);
    if (op == "sync") {
        replication_.syncNow(chain);
        return okReply();
    }
    if (op == "cancel") {
        replication_.cancel(chain);
        return okReply();
    }
    if (op == "verify") {
        std::string replica = text(request, "replica");
        if (replica.empty())
            throw Error("verify: no replica given", ExitCode::Usage);
        checkTargets(chain, {replica}, peer);
        auto id = jobs_.start("verify", chain, [chain, replica](ControlJobs::Context& job) {
            return verifyJob(chain, replica, job);
        });
        return jobStartedReply(id);
    }
    if (op == "replica-add")
        return startReplicaAdd(chain, request, peer);
    if (op == "stream") {
        if (!request.contains("targets") || !request["targets"].is_array() || request["targets"].empty())
            throw Error("stream: no targets given", ExitCode::Usage);
        if (request["targets"].size() > kMaxStreamTargets)
            throw Error("stream: at most " + std::to_string(kMaxStreamTargets) + " targets in one request",
                        ExitCode::Usage);
        std::vector<std::string> targets;
        for (const auto& target : request["targets"]) {
            if (!target.is_string())
                throw Error("stream: targets are replica names or URLs", ExitCode::Usage);
            targets.push_back(target.get<std::string>());
        }
        checkTargets(chain, targets, peer);
        auto id = jobs_.start("stream", chain, [this, chain, request](ControlJobs::Context& job) {
            return streamJob(replication_, chain, request, job);
        });
        return jobStartedReply(id);
    }
    if (op == "log") {
        std::size_t limit = request.contains("limit") && request["limit"].is_number_unsigned()
                                ? request["limit"].get<std::size_t>()
                                : 500;
        return blockList(Chain::open(chain), std::min<std::size_t>(limit, kMaxLogBlocks));
    }
    if (op == "show") {
        if (!request.contains("height") || !request["height"].is_number_unsigned())
            throw Error("show: no valid height given", ExitCode::Usage);
        return blockDetail(Chain::open(chain), request["height"].get<std::uint64_t>());
    }
    // replica-remove
    ReplicaRegistry registry(Chain::open(chain));
    registry.remove(text(request, "name"));
    registry.save();
    return okReply();
}

} // namespace sc
