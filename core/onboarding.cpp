#include "core/onboarding.h"

#include "core/agent_client.h"
#include "core/chain.h"
#include "core/error.h"
#include "core/remote_endpoint.h"
#include "core/ssh_session.h"
#include "core/transfer_meter.h"

#include <sys/utsname.h>

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

// The agent to use: a working one already there, or our own binary uploaded over SFTP.
std::string ensureAgent(SshSession& session, const TargetSpec& target, const std::string& requestedPath, Steps& steps) {
    auto version = [&](const std::string& path) -> std::string {
        try {
            return trimmed(session.run(shellCommand({path, "--version"}), "agent check"));
        } catch (const Error&) {
            return {};
        }
    };
    const std::string ours = std::string("streamchain ") + STREAMCHAIN_VERSION;
    if (!requestedPath.empty()) {
        std::string found = version(requestedPath);
        if (found != ours)
            steps.fail(requestedPath + " on the host is " + (found.empty() ? "not a working streamchain" : found) +
                       ", need " + ours);
        steps.done("using " + requestedPath + " (" + found + ")");
        return requestedPath;
    }
    const std::string deployed = deployedAgentPath(target.path);
    if (version(deployed) == ours) {
        steps.done("agent already deployed (" + ours + ")");
        return {};
    }
    if (version("streamchain") == ours) {
        steps.done("using streamchain installed on the host (" + ours + ")");
        return "streamchain";
    }
    // Only a binary for the same machine type can run there; it is checked after upload too.
    utsname local{};
    ::uname(&local);
    std::string machine = trimmed(session.run("uname -m", "machine type check"));
    if (machine != local.machine)
        steps.fail("the host is " + machine + ", this streamchain is built for " + local.machine +
                   "; install streamchain on the host");
    session.upload("/proc/self/exe", deployed, 0755);
    std::string found = version(deployed);
    if (found != ours)
        steps.fail("the uploaded agent does not run on the host (missing libraries? install streamchain's "
                   "dependencies there)");
    steps.done("deployed " + ours + " to " + deployed);
    return {};
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
    if (!replica.via.empty())
        steps.fail("relayed replicas (--via) are not supported by this build yet", ExitCode::Usage);
    if (!replica.compress.empty())
        parseCompressionSpec(replica.compress);
    steps.done(target.host + ":" + std::to_string(target.port) + " " + target.path);

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

    steps.start("agent");
    EndpointOptions options;
    options.knownHostsFile = registry.knownHostsFile();
    options.identityFile = replica.identity;
    options.agentPath = ensureAgent(*session, target, replica.agentPath, steps);
    std::string acceptedLine = session->acceptedKnownHostsLine();

    steps.start("prepare");
    target.text = replica.name;
    std::unique_ptr<RemoteEndpoint> endpoint;
    try {
        endpoint = std::make_unique<RemoteEndpoint>(target, chain.identity(), options, std::move(session));
    } catch (const Error& e) {
        steps.fail(e.what());
    }
    steps.done(endpoint->agent().hello().value("exists", false) ? "existing directory" : "new directory");

    steps.start("initial-sync");
    SendRequest send;
    send.targets.push_back({target, options});
    if (!replica.compress.empty())
        send.compression = parseCompressionSpec(replica.compress);
    SendReport report = sendBlocks(chain, send, [&](const SendEvent& event) {
        OnboardingEvent progress{OnboardingEvent::Kind::Send, "initial-sync", {}, event};
        onEvent(progress);
    }, nullptr, {{replica.name, endpoint.get()}});
    if (!report.allOk())
        steps.fail(report.targets.front().error);
    steps.done(std::to_string(report.targets.front().blocksReceived) + " block(s), " + formatBytes(report.rawBytes));

    steps.start("register");
    entry.agentPath = options.agentPath;
    registry.add(entry);
    if (!acceptedLine.empty())
        recordKnownHost(registry.knownHostsFile(), acceptedLine);
    registry.save();
    steps.done("registered as " + replica.name);
}

} // namespace sc
