#pragma once
// What a relay replica needs to feed the replicas behind it: its own SSH key and
// host-key pins (ROOT/.streamchain/relay/, 0600; nothing from ~/.ssh), and the
// connections to its downstream agents for one sender session.
#include <map>
#include <memory>
#include <string>

#include "core/agent/agent_client.h"
#include "core/ledger/chain_identity.h"
#include "core/ssh/ssh_session.h"

namespace sc {

class RelayLinks {
public:
    explicit RelayLinks(std::string replicaRoot);
    ~RelayLinks();

    // The relay's public key line ("ssh-ed25519 AAAA... streamchain-relay@HOST"), made on first use.
    std::string publicKey();
    // Connect to a downstream replica with the relay's key and pins (UnknownHostKeyError carries
    // the fingerprint to confirm), deploy our agent there if asked, start it offering protocol
    // versions up to `newestProtocol` (the relay's own session's). Replaces an older link.
    AgentClient& open(const DownstreamSpec& downstream, const ChainIdentity& chain, std::uint32_t newestProtocol);
    AgentClient& link(const std::string& url); // throws if the sender did not open it in this session
    void drop(const std::string& url);         // after its connection broke

private:
    struct Link {
        std::unique_ptr<SshSession> session;
        std::unique_ptr<AgentClient> agent;
    };
    std::string dir_;
    std::map<std::string, Link> links_;
};

} // namespace sc
