#pragma once
// The sender's side of the agent protocol over one SSH channel: a kept-open
// session with `streamchain agent` on a replica, reused for many requests.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/agent_protocol.h"
#include "core/btrfs.h"
#include "core/chain_identity.h"
#include "core/footprint_tree.h"
#include "core/ssh_session.h"

namespace sc {

struct RemoteBlock {
    std::uint64_t height = 0;
    btrfs::Uuid uuid{}, receivedUuid{};
    bool readOnly = false;
};

struct SpoolState {
    std::uint64_t bytes = 0;
    std::string sha256; // of those bytes
};

class AgentClient {
public:
    // Starts the agent for `remoteRoot` on the session and exchanges hellos.
    // `agentPath` empty: the replica's deployed agent, else `streamchain` on its PATH.
    AgentClient(SshSession& session, const std::string& remoteRoot, const ChainIdentity& chain,
                const std::string& agentPath = {});
    ~AgentClient();
    AgentClient(const AgentClient&) = delete;
    AgentClient& operator=(const AgentClient&) = delete;

    const nlohmann::json& hello() const { return hello_; } // what the agent said about its root
    std::string label() const;

    nlohmann::json prepare(); // bind, lock for this session, clean leftovers
    std::vector<RemoteBlock> list();
    std::string headerText(std::uint64_t height);
    std::string footprintRoot(std::uint64_t height); // re-hashed on the replica now
    FootprintTree footprintTree(std::uint64_t height);
    SpoolState spool(const std::string& key);

    // A stream: start (announce), data, then end or abort.
    std::uint64_t beginReceive(const nlohmann::json& request); // returns the offset the agent resumed at
    void sendData(std::span<const std::uint8_t> bytes);
    std::vector<std::uint64_t> endReceive(std::uint64_t rawBytes, const std::string& rawSha256);
    // `discardSpool`: what the replica spooled of this stream is not to be trusted.
    void abortReceive(const std::string& reason, bool discardSpool) noexcept;

private:
    nlohmann::json request(const nlohmann::json& request, const std::string& step);

    SshSession& session_;
    std::string root_;
    std::unique_ptr<SshChannel> channel_;
    std::unique_ptr<FrameReader> reader_;
    std::unique_ptr<FrameWriter> writer_;
    nlohmann::json hello_;
};

// The remote command that starts the agent, quoted for the remote shell.
std::string agentCommand(const std::string& remoteRoot, const std::string& agentPath);
std::string deployedAgentPath(const std::string& remoteRoot); // ROOT/.streamchain/agent/streamchain

} // namespace sc
