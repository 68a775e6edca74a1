#pragma once
// What a client of the daemon's control socket may ask for (docs/control-protocol.md,
// "Who may do what"). Root and the daemon's own user may do anything the daemon
// can; members of the operators' group drive the served chains and their
// registered replicas, onboard with keys the administrator placed in the key
// directory, and write ad-hoc local replicas only under the configured roots.
// Every refusal names its rule, so the operator and the log say the same thing.
#include <string>
#include <sys/types.h>
#include <vector>

#include "core/base/error.h"

namespace sc {

struct ControlPeer {
    uid_t uid = 0;
    gid_t gid = 0;
    pid_t pid = 0;
    bool privileged = false; // root or the daemon's own user
    std::string label() const; // "uid 1001 (pid 4242)"
};

class RequestRefused : public Error {
public:
    RequestRefused(std::string rule, const std::string& message)
        : Error("refused (" + rule + "): " + message, ExitCode::Usage), rule_(std::move(rule)) {}
    const std::string& rule() const { return rule_; }

private:
    std::string rule_;
};

struct AccessPolicy {
    std::vector<std::string> servedChains;      // as given to the daemon
    std::string keyDirectory = "/etc/streamchain/keys";
    std::vector<std::string> localRoots;         // where operators may create local replicas
};

class ControlAccess {
public:
    // Checks the roots (each must be a root-owned directory no one else can write,
    // or an operator could plant a symlink in it); throws Error naming the bad one.
    explicit ControlAccess(AccessPolicy policy);

    // The served chain a request names (its path as the daemon serves it); a request
    // without one means the only chain. Applies to every peer, root included.
    std::string servedChain(const std::string& requested) const;
    // The key file to onboard with: for operators, a key name or path inside the key
    // directory (the directory's `default` key when none is given).
    std::string identityFor(const std::string& requested, const ControlPeer& peer) const;
    // An ad-hoc (unregistered) target: operators may name only local paths under a root.
    void checkAdHocTarget(const std::string& target, const ControlPeer& peer) const;
    // Settings that run code or read files on the daemon's behalf: root only.
    void checkRootOnly(const std::string& what, const ControlPeer& peer) const;

    const AccessPolicy& policy() const { return policy_; }

private:
    AccessPolicy policy_;
    std::vector<std::string> canonicalChains_, canonicalRoots_;
    std::string canonicalKeyDirectory_;
};

// True if `path` (canonical) is `root` or lies beneath it; pure string logic.
bool pathWithin(const std::string& path, const std::string& root);

} // namespace sc
