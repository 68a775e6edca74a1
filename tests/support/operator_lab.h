#pragma once
// The scene for privilege tests: the served chain, another chain on the same
// machine (0700, with a secret in its log), a throwaway operator, a key directory
// with one key, a root-only key outside it, a local root, and a daemon started
// with the operator's group, the key directory and the local root.
#include <memory>
#include <string>

#include "tests/support/chain_fixture.h"
#include "tests/support/daemon_process.h"
#include "tests/support/operator_account.h"

namespace sctest {

struct OperatorLab {
    OperatorLab();
    void startDaemon(); // logs to `log`

    OperatorAccount op;
    ChainFixture chain;
    ChainFixture secret{512, "secret"}; // its block 1 says "secret-message" and holds plans.txt
    TempDir run{"operator"};
    std::string socket, log, keys, rootKey, localRoot;
    std::unique_ptr<DaemonProcess> daemon;
};

// A directory only root may write in, that others may pass through.
std::string rootOwnedDir(const std::string& path);

} // namespace sctest
