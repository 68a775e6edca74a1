#pragma once
// Replica hosts for tests: each host is a network namespace with its own sshd,
// host key and loop-mounted btrfs image, all on one bridge that lives in a
// namespace of its own. The named namespaces are bind-mounted inside the test's
// private mount namespace and every sshd dies with the test (PDEATHSIG), so a
// crashed test leaves no namespace, veth, mount or daemon behind.
#include <QProcess>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/btrfs_fixture.h"

namespace sctest {

struct SshHost {
    std::string name;       // "r1", "r2", ...
    std::string netns;      // unique namespace name
    std::string address;    // IPv4 on the lab bridge
    std::string hostKey;    // private host key file (so a test can replace it)
    std::string configFile; // sshd_config
    std::string authorizedKeys; // the lab's client key, unless a test changes it
    std::unique_ptr<BtrfsImage> image;
    std::unique_ptr<QProcess> sshd;
    std::string veth;       // the host's link, in its namespace
};

class SshLab {
public:
    explicit SshLab(int hostCount, unsigned imageMiB = 768);
    ~SshLab();
    SshLab(const SshLab&) = delete;
    SshLab& operator=(const SshLab&) = delete;

    SshHost& host(int index) { return *hosts_.at(static_cast<std::size_t>(index)); }
    // ssh://root@ADDRESS/<host's btrfs mount>/<relative>
    std::string url(int index, const std::string& relative) const;
    std::string replicaPath(int index, const std::string& relative) const;
    const std::string& clientKey() const { return clientKey_; }      // authorized on every host
    const std::string& strangerKey() const { return strangerKey_; }  // authorized nowhere
    std::string hostKeyFingerprint(int index) const;                 // "SHA256:..."

    void replaceHostKey(int index); // new key, sshd restarted
    void restartSshd(int index);
    void setAuthorizedKeys(int index, const std::string& lines); // read by sshd at each login
    void killConnections(int index);       // kill every sshd session child, keep the listener
    void setLink(int index, bool up);      // take the host's link down or up
    void shapeLink(int index, const std::string& rate); // tc tbf towards the host, e.g. "100mbit"; "" removes it
    // Run argv inside the host's namespace (sees the same files).
    CommandResult runOn(int index, const std::vector<std::string>& argv);

private:
    void startSshd(SshHost& host);
    void stopSshd(SshHost& host);
    void waitForPort(const SshHost& host);

    TempDir dir_;
    std::string prefix_;    // unique per lab: names of namespaces and links
    std::string switchNs_;  // holds the bridge
    std::string subnet_;    // "10.a.b."
    std::string clientKey_;
    std::string strangerKey_;
    std::string rootVeth_;
    std::vector<std::unique_ptr<SshHost>> hosts_;
};

} // namespace sctest
