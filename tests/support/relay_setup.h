#pragma once
// Two registered replicas for relay tests: r1 reached directly, r2 behind r1.
// r2's host authorizes only r1's relay key, so nothing reaches r2 but through r1.
#include <string>

#include "tests/support/chain_fixture.h"
#include "tests/support/ssh_hosts.h"

namespace sctest {

std::string relayPublicKey(SshLab& lab, int host); // the relay key a replica made for itself
void onboardRelayPair(SshLab& lab, ChainFixture& chain);

} // namespace sctest
