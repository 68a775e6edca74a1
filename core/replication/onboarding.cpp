#include "core/replication/onboarding.h"

#include "core/agent/agent_client.h"
#include "core/agent/agent_deploy.h"
#include "core/base/error.h"
#include "core/endpoints/endpoint_pool.h"
#include "core/endpoints/plain_endpoint.h"
#include "core/endpoints/remote_endpoint.h"
#include "core/ledger/chain.h"
#include "core/ssh/ssh_session.h"
#include "core/stream/transfer_meter.h"

namespace sc {

namespace {

struct Steps {
    const std::string& name;
    const std::function<void(const OnboardingEvent&)>& onEvent;
    std::string current;

    void start(const std::string& step) {
        current = step;
        onEvent({OnboardingEvent::Kind::StepStarted, step, {}, SendEvent{SendEvent::Kind::Progress}});
    }
    void done(const std::string& detail) {
        onEvent({OnboardingEvent::Kind::StepDone, current, detail, SendEvent{SendEvent::Kind::Progress}});
    }
    [[noreturn]] void fail(const std::string& why, ExitCode code = ExitCode::Failure) const {
        throw Error("replica " + name + ": " + current + ": " + why, code);
    }
};

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

// What the connect steps leave for the common ones.
struct Reached {
    TargetRef target;         // named as the replica; relays included
    std::string acceptedLine; // a host key accepted for the chain's pins, recorded on success
};

Reached connectDirect(const Chain& chain, const OnboardingRequest& request, const ReplicaRegistry& registry,
                      EndpointPool& pool, Steps& steps) {
    const RegisteredReplica& replica = request.replica;
    TargetSpec target = parseTargetSpec(replica.url);
    steps.start("connect");
    SshConnectOptions connect;
    connect.knownHostsFile = registry.knownHostsFile();
    connect.identityFile = replica.identity;
    connect.acceptHostKey = request.acceptHostKey;
    connect.recordAcceptedKey = false;
    std::unique_ptr<SshSession> session;
    try {
        session = std::make_unique<SshSession>(sshEndpointOf(target), connect);
    } catch (const UnknownHostKeyError& unknown) {
        if (!request.confirmHostKey || !request.confirmHostKey(unknown.keyType(), unknown.fingerprint()))
            steps.fail(std::string(unknown.what()).substr(std::string("ssh ").size()));
        connect.acceptHostKey = unknown.fingerprint();
        try {
            session = std::make_unique<SshSession>(sshEndpointOf(target), connect);
        } catch (const Error& e) {
            steps.fail(e.what());
        }
    } catch (const Error& e) {
        steps.fail(e.what());
    }
    steps.done(session->hostKeyType() + " host key " + session->hostKeyFingerprint() +
               (session->acceptedKnownHostsLine().empty() ? " (pinned)" : " (accepted; pinned when done)"));

    steps.start("check-path");
    std::string ancestor = session->existingAncestor(target.path);
    std::string type = trimmed(session->run(shellCommand({"stat", "-f", "-c", "%T", "--", ancestor}), "stat"));
    if (type != "btrfs")
        steps.fail(target.path + " is on " + type + ", not btrfs", ExitCode::Usage);
    std::string available =
        trimmed(session->run(shellCommand({"df", "-B1", "--output=avail", "--", ancestor}), "free space check"));
    std::uint64_t freeBytes = std::stoull(available.substr(available.find_first_of("0123456789")));
    std::uint64_t need = chain.tip() ? chain.header(*chain.tip()).counts.bytes : 0;
    if (freeBytes < need)
        steps.fail("only " + formatBytes(freeBytes) + " free, the chain's newest block holds " + formatBytes(need));
    steps.done("btrfs, " + formatBytes(freeBytes) + " free");

    EndpointOptions options;
    options.knownHostsFile = registry.knownHostsFile();
    options.identityFile = replica.identity;
    target.text = replica.name;
    if (replica.plain) {
        // No agent to check or start: the sync runs btrfs receive over this session.
        options.plain = true;
        std::string acceptedLine = session->acceptedKnownHostsLine();
        pool.adopt(replica.name, std::make_shared<PlainEndpoint>(target, std::move(session)));
        return {{target, options, {}}, acceptedLine};
    }
    steps.start("agent");
    try {
        AgentChoice agent = ensureAgent(*session, target.path, replica.agentPath);
        options.agentPath = agent.agentPath;
        steps.done(agent.detail);
    } catch (const Error& e) {
        steps.fail(e.what());
    }
    std::string acceptedLine = session->acceptedKnownHostsLine();

    steps.start("prepare");
    std::shared_ptr<RemoteEndpoint> endpoint;
    try {
        endpoint = std::make_shared<RemoteEndpoint>(target, chain.identity(), options, std::move(session));
    } catch (const Error& e) {
        steps.fail(e.what());
    }
    steps.done(endpoint->agent().hello()["bound_chain"].is_string() ? "a replica of this chain already"
                                                                    : "new replica");
    pool.adopt(replica.name, endpoint);
    return {{target, options, {}}, acceptedLine};
}

// The relay connects to the new replica with its own key and pins, and deploys its agent there.
Reached connectThroughRelay(const Chain& chain, const OnboardingRequest& request, const ReplicaRegistry& registry,
                            EndpointPool& pool, Steps& steps) {
    const RegisteredReplica& replica = request.replica;
    steps.start("relay");
    TargetRef relay = registry.resolve(replica.via, {}).target();
    std::string relayKey;
    try {
        auto* relayEndpoint = dynamic_cast<RemoteEndpoint*>(&pool.get(relay));
        if (!relayEndpoint)
            steps.fail(replica.via + " cannot relay: only replicas served by the streamchain agent can",
                       ExitCode::Usage);
        relayKey = relayEndpoint->agent().relayPublicKey();
    } catch (const Error& e) {
        steps.fail(e.what());
    }
    steps.done(replica.via + " relays with key " + relayKey);

    steps.start("connect");
    TargetRef target{parseTargetSpec(replica.url), {}, relay.relays};
    target.relays.push_back(relay);
    target.spec.text = replica.name;
    target.options.acceptHostKey = request.acceptHostKey;
    target.options.agentPath = replica.agentPath;
    target.options.deployAgent = true;
    RemoteEndpoint* endpoint = nullptr;
    for (int attempt = 0; !endpoint; ++attempt) {
        try {
            endpoint = dynamic_cast<RemoteEndpoint*>(&pool.get(target));
        } catch (const UnknownHostKeyError& unknown) {
            if (attempt > 0 || !request.confirmHostKey ||
                !request.confirmHostKey(unknown.keyType(), unknown.fingerprint()))
                steps.fail(unknown.what());
            target.options.acceptHostKey = unknown.fingerprint();
        } catch (const Error& e) {
            steps.fail(e.what());
        }
    }
    const nlohmann::json& hello = endpoint->agent().hello();
    steps.done("reached through " + replica.via + ", agent " + hello.value("version", std::string("?")));

    steps.start("check-path");
    if (!hello.value("on_btrfs", false))
        steps.fail(target.spec.path + " is not on btrfs", ExitCode::Usage);
    std::uint64_t freeBytes = hello.value("free_bytes", std::uint64_t{0});
    std::uint64_t need = chain.tip() ? chain.header(*chain.tip()).counts.bytes : 0;
    if (freeBytes < need)
        steps.fail("only " + formatBytes(freeBytes) + " free, the chain's newest block holds " + formatBytes(need));
    steps.done("btrfs, " + formatBytes(freeBytes) + " free" +
               (hello.value("exists", false) ? ", existing directory" : ", new directory"));
    target.options.deployAgent = false;
    target.options.acceptHostKey.clear(); // pinned on the relay now
    return {target, {}};
}

} // namespace

void onboardReplica(const Chain& chain, const OnboardingRequest& request,
                    const std::function<void(const OnboardingEvent&)>& onEvent) {
    const RegisteredReplica& replica = request.replica;
    Steps steps{replica.name, onEvent, {}};
    steps.start("check");
    ReplicaRegistry registry(chain);
    RegisteredReplica entry = replica;
    entry.added = utcTimestampNow();
    ReplicaRegistry trial = registry;
    trial.add(entry); // name, URL and --via checked now; the real list changes only at the end
    TargetSpec target = parseTargetSpec(replica.url);
    if (target.kind != TargetSpec::Kind::Ssh)
        steps.fail("only ssh:// replicas are onboarded (local targets need no onboarding: send to them)",
                   ExitCode::Usage);
    if (!replica.via.empty() && !replica.identity.empty())
        steps.fail("--identity does not apply with --via: the relay connects with its own key", ExitCode::Usage);
    if (!replica.compress.empty())
        parseCompressionSpec(replica.compress);
    if (replica.plain && (!replica.via.empty() || !replica.compress.empty()))
        steps.fail("a plain replica is fed directly and uncompressed (no --via, no --compress)", ExitCode::Usage);
    steps.done(target.host + ":" + std::to_string(target.port) + " " + target.path +
               (replica.via.empty() ? "" : " via " + replica.via));

    EndpointPool pool(chain.identity());
    Reached reached = replica.via.empty() ? connectDirect(chain, request, registry, pool, steps)
                                          : connectThroughRelay(chain, request, registry, pool, steps);

    steps.start("initial-sync");
    SendRequest send;
    send.targets.push_back(reached.target);
    if (!replica.compress.empty())
        send.compression = parseCompressionSpec(replica.compress);
    SendReport report = sendBlocks(chain, send, [&](const SendEvent& event) {
        OnboardingEvent progress{OnboardingEvent::Kind::Send, "initial-sync", {}, event};
        onEvent(progress);
    }, nullptr, &pool);
    if (!report.allOk())
        steps.fail(report.targets.front().error);
    steps.done(std::to_string(report.targets.front().blocksReceived) + " block(s), " + formatBytes(report.rawBytes));

    steps.start("register");
    entry.agentPath = reached.target.options.agentPath;
    registry.add(entry);
    if (!reached.acceptedLine.empty())
        recordKnownHost(registry.knownHostsFile(), reached.acceptedLine);
    registry.save();
    steps.done("registered as " + replica.name);
}

} // namespace sc
