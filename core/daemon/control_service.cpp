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
    onboarding.replica = {text(request, wire::kName),
                          text(request, wire::kUrl),
                          text(request, wire::kVia),
                          text(request, wire::kCompress),
                          text(request, wire::kIdentity),
                          text(request, wire::kAgentPath),
                          {},
                          request.value(wire::kPlain, false)};
    onboarding.acceptHostKey = text(request, wire::kAcceptHostKey);
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
        for (const auto& target : request.value(wire::kTargets, std::vector<std::string>())) {
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
        const std::string mode = request.value(wire::kMode, std::string("auto"));
        if (mode != "auto" && mode != "full" && mode != "incremental")
            throw Error("stream: mode must be auto, full or incremental", ExitCode::Usage);
        send.full = mode == "full";
        send.incrementalOnly = mode == "incremental";
        if (!text(request, wire::kCompress).empty())
            send.compression = parseCompressionSpec(text(request, wire::kCompress));
        if (request.contains(wire::kUpto) && request[wire::kUpto].is_number_unsigned())
            send.upto = request[wire::kUpto].get<std::uint64_t>();
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
    const std::string op = text(request, wire::kOp);
    return op == wire::kOpStatus || op == wire::kOpSubscribe || op == wire::kOpSync || op == wire::kOpCancel;
}

std::string ControlService::chainOf(const nlohmann::json& request) const {
    if (request.contains(wire::kChain) && !request[wire::kChain].is_string())
        throw Error("\"chain\" must be a path", ExitCode::Usage);
    return access_.servedChain(text(request, wire::kChain));
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
    if (!text(request, wire::kAgentPath).empty())
        access_.checkRootOnly("agent_path", peer);
    if (parseTargetSpec(text(request, wire::kUrl)).kind == TargetSpec::Kind::Local)
        access_.checkAdHocTarget(text(request, wire::kUrl), peer);
    else if (text(request, wire::kVia).empty())
        request[wire::kIdentity] = access_.identityFor(text(request, wire::kIdentity), peer);
    auto id = jobs_.start(wire::kOpReplicaAdd, chain, [chain, request](ControlJobs::Context& job) {
        return onboardJob(chain, request, job);
    });
    return jobStartedReply(id);
}

nlohmann::json ControlService::startStream(const std::string& chain, const nlohmann::json& request,
                                           const ControlPeer& peer) {
    if (!request.contains(wire::kTargets) || !request[wire::kTargets].is_array() ||
        request[wire::kTargets].empty())
        throw Error("stream: no targets given", ExitCode::Usage);
    if (request[wire::kTargets].size() > kMaxStreamTargets)
        throw Error("stream: at most " + std::to_string(kMaxStreamTargets) + " targets in one request",
                    ExitCode::Usage);
    std::vector<std::string> targets;
    for (const auto& target : request[wire::kTargets]) {
        if (!target.is_string())
            throw Error("stream: targets are replica names or URLs", ExitCode::Usage);
        targets.push_back(target.get<std::string>());
    }
    checkTargets(chain, targets, peer);
    auto id = jobs_.start(wire::kOpStream, chain, [this, chain, request](ControlJobs::Context& job) {
        return streamJob(replication_, chain, request, job);
    });
    return jobStartedReply(id);
}

nlohmann::json ControlService::handle(const nlohmann::json& request, const ControlPeer& peer) {
    const std::string op = text(request, wire::kOp);
    if (op == wire::kOpStatus) {
        nlohmann::json status = replication_.status();
        status[wire::kJobs] = jobs_.list();
        status[wire::kAccess] = accessOf(access_, peer);
        return status;
    }
    if (op == wire::kOpSubscribe)
        return subscribedReply();
    if (op == wire::kOpCancel && request.contains(wire::kJob)) {
        if (!request[wire::kJob].is_number_unsigned())
            throw Error("cancel: \"job\" must be a job number", ExitCode::Usage);
        return {{wire::kOk, jobs_.cancel(request[wire::kJob].get<std::uint64_t>())}};
    }
    static const std::set<std::string> chainRequests = {
        wire::kOpCommit, wire::kOpSync, wire::kOpCancel, wire::kOpVerify,       wire::kOpReplicaAdd,
        wire::kOpStream, wire::kOpLog,  wire::kOpShow,   wire::kOpReplicaRemove};
    if (!chainRequests.count(op))
        throw Error("unknown request \"" + op +
                    "\" (status, subscribe, log, show, commit, sync, cancel, stream, verify, replica-add, "
                    "replica-remove)");
    // Every request that names a chain is held to the served chains before anything opens it.
    const std::string chain = chainOf(request);
    if (op == wire::kOpCommit)
        return replication_.commit(chain, request);
    if (op == wire::kOpSync) {
        replication_.syncNow(chain);
        return okReply();
    }
    if (op == wire::kOpCancel) {
        replication_.cancel(chain);
        return okReply();
    }
    if (op == wire::kOpVerify) {
        std::string replica = text(request, wire::kReplica);
        if (replica.empty())
            throw Error("verify: no replica given", ExitCode::Usage);
        checkTargets(chain, {replica}, peer);
        auto id = jobs_.start(wire::kOpVerify, chain, [chain, replica](ControlJobs::Context& job) {
            return verifyJob(chain, replica, job);
        });
        return jobStartedReply(id);
    }
    if (op == wire::kOpReplicaAdd)
        return startReplicaAdd(chain, request, peer);
    if (op == wire::kOpStream)
        return startStream(chain, request, peer);
    if (op == wire::kOpLog) {
        std::size_t limit = request.contains(wire::kLimit) && request[wire::kLimit].is_number_unsigned()
                                ? request[wire::kLimit].get<std::size_t>()
                                : 500;
        return blockList(Chain::open(chain), std::min<std::size_t>(limit, kMaxLogBlocks));
    }
    if (op == wire::kOpShow) {
        if (!request.contains(wire::kHeight) || !request[wire::kHeight].is_number_unsigned())
            throw Error("show: no valid height given", ExitCode::Usage);
        return blockDetail(Chain::open(chain), request[wire::kHeight].get<std::uint64_t>());
    }
    // replica-remove
    ReplicaRegistry registry(Chain::open(chain));
    registry.remove(text(request, wire::kName));
    registry.save();
    return okReply();
}

} // namespace sc
