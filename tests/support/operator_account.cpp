#include "tests/support/operator_account.h"

#include <atomic>
#include <csignal>
#include <fstream>
#include <grp.h>
#include <pwd.h>
#include <regex>
#include <stdexcept>
#include <unistd.h>

namespace sctest {

namespace {

std::atomic<int> accountsMade{0};

// Accounts named after a test pid that no longer runs belong to a test that died.
void sweepDeadAccounts(const char* file, const std::regex& pattern, const char* remover) {
    std::ifstream in(file);
    std::vector<std::string> dead;
    for (std::string line; std::getline(in, line);) {
        std::smatch match;
        std::string name = line.substr(0, line.find(':'));
        if (std::regex_match(name, match, pattern) && match[1].length() <= 9 &&
            ::kill(std::stoi(match[1].str()), 0) != 0 && errno == ESRCH)
            dead.push_back(name);
    }
    for (const auto& name : dead)
        run({remover, name});
}

} // namespace

std::string controlProbe() { return STREAMCHAIN_CONTROL_PROBE; }

OperatorAccount::OperatorAccount() {
    sweepDeadAccounts("/etc/passwd", std::regex("scop([0-9]+)n[0-9]+"), "userdel");
    sweepDeadAccounts("/etc/group", std::regex("scop([0-9]+)n[0-9]+"), "groupdel");
    std::string name = "scop" + std::to_string(::getpid()) + "n" + std::to_string(accountsMade++);
    group_ = user_ = name;
    mustRun({"groupadd", "--system", group_});
    mustRun({"useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--gid", group_, user_});
    passwd* entry = ::getpwnam(user_.c_str());
    if (!entry)
        throw std::runtime_error("useradd made no " + user_);
    uid_ = entry->pw_uid;
    gid_ = entry->pw_gid;
}

OperatorAccount::~OperatorAccount() {
    // sctest::run, not this->run: that would ask the user to delete itself.
    sctest::run({"userdel", user_});
    sctest::run({"groupdel", group_});
}

std::vector<std::string> OperatorAccount::commandAs(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"setpriv", "--reuid=" + std::to_string(uid_), "--regid=" + std::to_string(gid_),
                               "--groups=" + std::to_string(gid_), "--"});
    return argv;
}

CommandResult OperatorAccount::run(std::vector<std::string> argv) const { return sctest::run(commandAs(std::move(argv))); }

OperatorAccount::Impersonation::Impersonation(const OperatorAccount& account) {
    int count = ::getgroups(0, nullptr);
    savedGroups_.resize(static_cast<std::size_t>(std::max(count, 0)));
    if (count > 0)
        ::getgroups(count, savedGroups_.data());
    gid_t gid = account.gid();
    if (::setgroups(1, &gid) != 0 || ::setegid(gid) != 0 || ::seteuid(account.uid()) != 0)
        throw std::runtime_error("cannot act as " + account.user());
}

OperatorAccount::Impersonation::~Impersonation() {
    [[maybe_unused]] int restored = ::seteuid(0) + ::setegid(0) + ::setgroups(savedGroups_.size(), savedGroups_.data());
}

} // namespace sctest
