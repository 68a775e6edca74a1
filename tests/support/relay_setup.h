#pragma once
// Two registered replicas for relay tests: r1 reached directly, r2 behind r1.
// r2's host authorizes only r1's relay key, so nothing reaches r2 but through r1.
#include <string>

#include "tests/support/chain_fixture.h"
#include "tests/support/ssh_hosts.h"

namespace sctest {

std::string relayPublicKey(SshLab& lab, int host); // the relay key a replica made for itself
// `downstreamAgentPath`: the agent r1 starts for r2 (a wrapper can play an older agent).
void onboardRelayPair(SshLab& lab, ChainFixture& chain, const std::string& downstreamAgentPath = STREAMCHAIN_CLI);

} // namespace sctest
