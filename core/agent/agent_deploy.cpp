#include "core/agent/agent_deploy.h"

#include "core/agent/agent_client.h"
#include "core/base/error.h"
#include "core/ssh/ssh_session.h"

#include <sys/utsname.h>

namespace sc {

namespace {

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

} // namespace

AgentChoice ensureAgent(SshSession& session, const std::string& remoteRoot, const std::string& requestedPath) {
    auto version = [&](const std::string& path) -> std::string {
        try {
            return trimmed(session.run(shellCommand({path, "--version"}), "agent check"));
        } catch (const Error&) {
            return {};
        }
    };
    const std::string ours = "streamchain " STREAMCHAIN_VERSION;
    if (!requestedPath.empty()) {
        std::string found = version(requestedPath);
        if (found != ours)
            throw Error(requestedPath + " on the host is " + (found.empty() ? "not a working streamchain" : found) +
                        ", need " + ours);
        return {requestedPath, "using " + requestedPath + " (" + found + ")"};
    }
    const std::string deployed = deployedAgentPath(remoteRoot);
    if (version(deployed) == ours)
        return {{}, "agent already deployed (" + ours + ")"};
    if (version("streamchain") == ours)
        return {"streamchain", "using streamchain installed on the host (" + ours + ")"};
    // Only a binary for the same machine type can run there; it is checked after upload too.
    utsname local{};
    ::uname(&local);
    std::string machine = trimmed(session.run("uname -m", "machine type check"));
    if (machine != local.machine)
        throw Error("the host is " + machine + ", this streamchain is built for " + local.machine +
                    "; install streamchain on the host");
    session.upload("/proc/self/exe", deployed, 0755);
    if (version(deployed) != ours)
        throw Error("the uploaded agent does not run on the host (missing libraries? install streamchain's "
                    "dependencies there)");
    return {{}, "deployed " + ours + " to " + deployed};
}

} // namespace sc
