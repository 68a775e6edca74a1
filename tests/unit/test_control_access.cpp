// The privilege model's rules on real paths: served chains, the key directory,
// local roots, and what only root may set. Links and `..` may not lead out.
#include "core/daemon/control_access.h"
#include "tests/support/btrfs_fixture.h"

#include <QTest>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

using namespace sc;
using namespace sctest;
namespace fs = std::filesystem;

namespace {

const ControlPeer kOperator{1234, 1234, 99, false};
const ControlPeer kRoot{0, 0, 1, true};

std::string ruleOf(const std::function<void()>& request) {
    try {
        request();
    } catch (const RequestRefused& e) {
        return e.rule();
    }
    return "allowed";
}

void touch(const std::string& path, mode_t mode) {
    std::ofstream(path) << "key";
    ::chmod(path.c_str(), mode);
}

} // namespace

class TestControlAccess : public QObject {
    Q_OBJECT
private slots:
    void pathWithinIsAboutWholeComponents() {
        QVERIFY(pathWithin("/srv/replicas/a", "/srv/replicas"));
        QVERIFY(pathWithin("/srv/replicas", "/srv/replicas"));
        QVERIFY(pathWithin("/srv/replicas/a/b", "/srv/replicas/"));
        QVERIFY(!pathWithin("/srv/replicas2/a", "/srv/replicas"));
        QVERIFY(!pathWithin("/srv", "/srv/replicas"));
        QVERIFY(!pathWithin("/srv/replicas", ""));
    }

    void requestsNameOnlyServedChains() {
        TempDir dir("access");
        fs::create_directories(dir.path() + "/ledger");
        fs::create_directories(dir.path() + "/secret");
        ControlAccess access({{dir.path() + "/ledger"}, dir.path() + "/keys", {}});
        QCOMPARE(access.servedChain(""), dir.path() + "/ledger");
        QCOMPARE(access.servedChain(dir.path() + "/./ledger/"), dir.path() + "/ledger");
        QCOMPARE(ruleOf([&] { access.servedChain(dir.path() + "/secret"); }), std::string("served-chains"));
        QCOMPARE(ruleOf([&] { access.servedChain(dir.path() + "/ledger/../secret"); }), std::string("served-chains"));
        fs::create_symlink(dir.path() + "/secret", dir.path() + "/looks-served");
        QCOMPARE(ruleOf([&] { access.servedChain(dir.path() + "/looks-served"); }), std::string("served-chains"));
        ControlAccess two({{dir.path() + "/ledger", dir.path() + "/secret"}, "", {}});
        QVERIFY_THROWS_EXCEPTION(Error, two.servedChain(""));
    }

    void operatorsOnboardOnlyWithKeysFromTheKeyDirectory() {
        TempDir dir("access");
        std::string keys = dir.path() + "/keys";
        fs::create_directories(keys);
        ::chmod(keys.c_str(), 0755);
        touch(keys + "/replicas", 0600);
        touch(dir.path() + "/root-only", 0600);
        fs::create_symlink(dir.path() + "/root-only", keys + "/sneaky");
        ControlAccess access({{dir.path()}, keys, {}});
        QCOMPARE(access.identityFor("replicas", kOperator), keys + "/replicas");
        QCOMPARE(access.identityFor(keys + "/replicas", kOperator), keys + "/replicas");
        QCOMPARE(ruleOf([&] { access.identityFor(dir.path() + "/root-only", kOperator); }), std::string("key-directory"));
        QCOMPARE(ruleOf([&] { access.identityFor(keys + "/../root-only", kOperator); }), std::string("key-directory"));
        QCOMPARE(ruleOf([&] { access.identityFor("sneaky", kOperator); }), std::string("key-directory"));
        QCOMPARE(ruleOf([&] { access.identityFor("missing", kOperator); }), std::string("key-directory"));
        QCOMPARE(ruleOf([&] { access.identityFor("", kOperator); }), std::string("key-directory")); // no default key
        QCOMPARE(ruleOf([&] { access.identityFor(keys, kOperator); }), std::string("key-directory"));
        touch(keys + "/default", 0600);
        QCOMPARE(access.identityFor("", kOperator), keys + "/default");
        // Root keeps its own keys, and may name the directory's keys too.
        QCOMPARE(access.identityFor(dir.path() + "/root-only", kRoot), dir.path() + "/root-only");
        QCOMPARE(access.identityFor("replicas", kRoot), keys + "/replicas");
        QCOMPARE(access.identityFor("", kRoot), std::string()); // root's own ssh-agent and ~/.ssh
        // A key directory others could write is no key directory.
        ::chmod(keys.c_str(), 0775);
        QCOMPARE(ruleOf([&] { access.identityFor("replicas", kOperator); }), std::string("key-directory"));
    }

    void operatorsCreateLocalReplicasOnlyUnderTheRoots() {
        TempDir dir("access");
        std::string root = dir.path() + "/replicas";
        fs::create_directories(root + "/existing");
        fs::create_directories(dir.path() + "/elsewhere");
        ::chmod(root.c_str(), 0755);
        fs::create_symlink(dir.path() + "/elsewhere", root + "/link");
        ControlAccess access({{dir.path()}, "", {root}});
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget(root + "/new", kOperator); }), std::string("allowed"));
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget("local:" + root + "/existing", kOperator); }),
                 std::string("allowed"));
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget(root + "/existing/", kOperator); }), std::string("allowed"));
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget(root + "/x/../new", kOperator); }), std::string("allowed"));
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget(root, kOperator); }), std::string("local-roots"));
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget(root + "/existing/deeper", kOperator); }),
                 std::string("local-roots")); // inside a replica: its blocks hold the operator's links
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget(root + "/../elsewhere", kOperator); }), std::string("local-roots"));
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget(root + "/link", kOperator); }), std::string("local-roots"));
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget(root + "/link/x", kOperator); }), std::string("local-roots"));
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget(root + "/bad name", kOperator); }), std::string("local-roots"));
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget("ssh://root@host/srv/x", kOperator); }),
                 std::string("registered-targets"));
        QCOMPARE(ruleOf([&] { access.checkAdHocTarget("ssh://root@host/srv/x", kRoot); }), std::string("allowed"));
        QCOMPARE(ruleOf([&] { access.checkRootOnly("agent_path", kOperator); }), std::string("root-only"));
        QCOMPARE(ruleOf([&] { access.checkRootOnly("agent_path", kRoot); }), std::string("allowed"));
        ControlAccess none({{dir.path()}, "", {}});
        QCOMPARE(ruleOf([&] { none.checkAdHocTarget(root + "/new", kOperator); }), std::string("local-roots"));
        // A root others could write in would let them plant links after the check.
        ::chmod(root.c_str(), 0777);
        QVERIFY_THROWS_EXCEPTION(Error, ControlAccess({{dir.path()}, "", {root}}));
    }
};

QTEST_APPLESS_MAIN(TestControlAccess)
#include "test_control_access.moc"
