#pragma once
// A throwaway operator for privilege tests: a system group and a user in it, made
// with the test and removed with it (accounts left by a test that died are swept
// by the next one). Commands run as the user through setpriv; Impersonation lets
// this process connect to the daemon's socket with the user's credentials.
#include <string>
#include <sys/types.h>
#include <vector>

#include "tests/support/btrfs_fixture.h"

namespace sctest {

class OperatorAccount {
public:
    OperatorAccount();
    ~OperatorAccount();
    OperatorAccount(const OperatorAccount&) = delete;
    OperatorAccount& operator=(const OperatorAccount&) = delete;

    const std::string& user() const { return user_; }
    const std::string& group() const { return group_; } // give it to `streamchain daemon --group`
    uid_t uid() const { return uid_; }
    gid_t gid() const { return gid_; }
    // argv run as the user, in the group only; commandAs() is that command line (setpriv ...).
    CommandResult run(std::vector<std::string> argv) const;
    std::vector<std::string> commandAs(std::vector<std::string> argv) const;

    // While alive, this whole process acts with the user's effective ids and group
    // (sockets connected meanwhile carry them as peer credentials).
    class Impersonation {
    public:
        explicit Impersonation(const OperatorAccount& account);
        ~Impersonation();
        Impersonation(const Impersonation&) = delete;
        Impersonation& operator=(const Impersonation&) = delete;

    private:
        std::vector<gid_t> savedGroups_;
    };

private:
    std::string user_, group_;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
};

// The helper that speaks to the control socket as another process would
// (tests/tools/control_probe.cpp).
std::string controlProbe();

} // namespace sctest
