#pragma once
// The sender's side of the agent protocol over one SSH channel: a kept-open
// session with `streamchain agent` on a replica, reused for many requests.
// A replica behind a relay is reached through the relay's session: its client
// adds a route to every request and the relay agent passes it on.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/agent/agent_protocol.h"
#include "core/btrfs/subvolumes.h"
#include "core/footprint/footprint_tree.h"
#include "core/ledger/chain_identity.h"
#include "core/replica/replica_target.h"
#include "core/ssh/ssh_session.h"

namespace sc {

struct SpoolState {
    std::uint64_t bytes = 0;
    std::string sha256; // of those bytes
};

// The agent's answer to a stream announcement.
struct ReceiveReady {
    std::uint64_t resumeFrom = 0;  // the offset the agent resumed at
    TransferChecksums checksums;   // what the trailer must carry for it and the replicas it feeds
};

// How a relay reaches its downstream replica (with the relay's own key and pins).
struct DownstreamSpec {
    std::string url;           // ssh://user@host:port/path
    std::string acceptHostKey; // pin the downstream's unknown host key if it shows this fingerprint
    std::string agentPath;     // as for a direct replica
    bool deploy = false;       // upload the relay's own agent when the downstream lacks one
};

class AgentClient {
public:
    // Starts the agent for `remoteRoot` on the session and exchanges hellos.
    // `agentPath` empty: the replica's deployed agent, else `streamchain` on its PATH.
    // `newestProtocol` (0: agentProtocolNewest()) caps the versions offered.
    AgentClient(SshSession& session, const std::string& remoteRoot, const ChainIdentity& chain,
                const std::string& agentPath = {}, std::uint32_t newestProtocol = 0);
    ~AgentClient();
    AgentClient(const AgentClient&) = delete;
    AgentClient& operator=(const AgentClient&) = delete;

    // The replica this agent relays to: the relay connects (an unknown host key
    // becomes UnknownHostKeyError, as for a direct connection) and starts its agent.
    std::unique_ptr<AgentClient> relayTo(const DownstreamSpec& downstream, const ChainIdentity& chain);
    // The relay's own public key, which the downstream host must authorize.
    std::string relayPublicKey();

    const nlohmann::json& hello() const { return hello_; } // what the agent said about its root
    // The version this agent speaks with whoever started it (for a replica behind relays: with the last relay).
    std::uint32_t protocol() const { return hello_.value("protocol", kAgentProtocolOldest); }
    std::string label() const { return label_; }
    const std::vector<std::string>& route() const { return route_; } // empty: reached directly

    nlohmann::json prepare(); // bind, lock for this session, clean leftovers
    std::vector<ReplicaBlock> list();
    std::string headerText(std::uint64_t height);
    std::string footprintRoot(std::uint64_t height); // re-hashed on the replica now
    FootprintTree footprintTree(std::uint64_t height);
    SpoolState spool(const std::string& key);

    // A stream: start (announce), data, then end or abort.
    ReceiveReady beginReceive(const nlohmann::json& request);
    void sendData(std::span<const std::uint8_t> bytes);
    // The agent's final reply; `relayed` (when given) gets its report on the replicas it fed
    // with this stream, also when it failed itself (then this throws afterwards).
    // `checksums`: the trailer's checksum fields ({"raw_xxh3": hex, ...}).
    nlohmann::json endReceive(std::uint64_t rawBytes, const nlohmann::json& checksums,
                              nlohmann::json* relayed = nullptr);
    // `discardSpool`: what the replica spooled of this stream is not to be trusted.
    void abortReceive(const std::string& reason, bool discardSpool) noexcept;

    // Frames as they are, for a relay passing a sender's requests on.
    void sendFrame(FrameType type, std::string_view payload);
    Frame nextFrame(const std::string& step); // throws when the connection closed
    nlohmann::json request(const nlohmann::json& request, const std::string& step);

private:
    AgentClient(AgentClient& relay, std::vector<std::string> route, std::string label, nlohmann::json hello);
    std::uint32_t newestProtocol_ = kAgentProtocolVersion; // the newest version offered
    void checkHello(const ChainIdentity& chain);

    AgentClient* relay_ = nullptr; // set for a replica behind a relay: frames travel through it
    std::vector<std::string> route_;
    std::string label_;
    std::unique_ptr<SshChannel> channel_;
    std::unique_ptr<FrameReader> reader_;
    std::unique_ptr<FrameWriter> writer_;
    nlohmann::json hello_;
};

// The remote command that starts the agent, quoted for the remote shell.
std::string agentCommand(const std::string& remoteRoot, const std::string& agentPath);
std::string deployedAgentPath(const std::string& remoteRoot); // ROOT/.streamchain/agent/streamchain

} // namespace sc
