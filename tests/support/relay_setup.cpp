#include "tests/support/relay_setup.h"

#include <stdexcept>

namespace sctest {

std::string relayPublicKey(SshLab& lab, int host) {
    return readFile(lab.replicaPath(host, "replica/.streamchain/relay/id_ed25519.pub"));
}

void onboardRelayPair(SshLab& lab, ChainFixture& chain, const std::string& downstreamAgentPath) {
    auto r1 = cli({"replica", "add", chain.root(), "r1", lab.url(0, "replica"), "--identity", lab.clientKey(),
                   "--accept-host-key", lab.hostKeyFingerprint(0), "--agent-path", STREAMCHAIN_CLI});
    if (r1.exitCode != 0)
        throw std::runtime_error("r1: " + r1.err);
    lab.setAuthorizedKeys(1, "");
    cli({"replica", "relay-key", chain.root(), "r1"});
    lab.setAuthorizedKeys(1, relayPublicKey(lab, 0));
    auto r2 = cli({"replica", "add", chain.root(), "r2", lab.url(1, "replica"), "--via", "r1", "--accept-host-key",
                   lab.hostKeyFingerprint(1), "--agent-path", downstreamAgentPath});
    if (r2.exitCode != 0)
        throw std::runtime_error("r2: " + r2.err);
}

} // namespace sctest
