// The console against a real daemon on loop images and namespace hosts: models
// follow the daemon (and survive its restart), the verify matrix shows a
// tampered block, the add-replica wizard's happy and failure paths, and cancel
// stops a running stream without leaving a partial block; an operator's refused
// request shows its reason in the status bar; a daemon of another protocol version is
// reported once, and its status is not taken for ours.
#include "core/btrfs/subvolumes.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/daemon_process.h"
#include "tests/support/operator_account.h"
#include "tests/support/relay_setup.h"
#include "tests/support/ssh_hosts.h"
#include "tests/ui/console_test_main.h"
#include "ui/add_replica_wizard.h"
#include "ui/console_session.h"
#include "ui/main_window.h"
#include "ui/topology_view.h"
#include "ui/verify_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLineEdit>
#include <QLocalServer>
#include <QLocalSocket>
#include <QPushButton>
#include <QSignalSpy>
#include <filesystem>

using namespace sctest;
namespace fs = std::filesystem;

namespace {

QString q(const std::string& text) { return QString::fromStdString(text); }

int rowsOfKind(const ui::JobModel& jobs, const QString& kind) {
    int count = 0;
    for (int i = 0; i < jobs.rowCount(); ++i)
        count += jobs.rowAt(i)->kind == kind;
    return count;
}

// A daemon on the chain with its own socket, and a console session connected to it.
struct ConsoleOnDaemon {
    explicit ConsoleOnDaemon(const ChainFixture& chain)
        : run("run"), socket(run.path() + "/control.sock"), daemon(chain.root(), socket), session(q(socket)) {
        session.start();
    }
    TempDir run;
    std::string socket;
    DaemonProcess daemon;
    ui::ConsoleSession session;
};

} // namespace

class TestConsole : public QObject {
    Q_OBJECT
private slots:
    void aDaemonOfAnotherProtocolVersionIsReportedOnce() {
        TempDir run("run");
        const QString socket = q(run.path() + "/control.sock");
        // A version 1 daemon: its status names no protocol.
        QLocalServer daemon;
        QVERIFY(daemon.listen(socket));
        connect(&daemon, &QLocalServer::newConnection, this, [&daemon] {
            while (QLocalSocket* peer = daemon.nextPendingConnection()) {
                connect(peer, &QLocalSocket::readyRead, peer, [peer] {
                    while (peer->canReadLine()) {
                        QJsonObject request = QJsonDocument::fromJson(peer->readLine()).object();
                        QJsonObject chain{{"path", "/old"}, {"name", "old"}, {"tip", 3}, {"replicas", QJsonArray()}};
                        QJsonObject reply{{"ok", true}, {"chains", QJsonArray{chain}}};
                        if (request.value("op").toString() == "subscribe")
                            reply = QJsonObject{{"ok", true}, {"subscribe", true}};
                        peer->write(QJsonDocument(reply).toJson(QJsonDocument::Compact) + "\n");
                    }
                });
            }
        });
        ui::ConsoleSession session(socket);
        QSignalSpy problems(&session, &ui::ConsoleSession::problem);
        session.start();
        QTRY_VERIFY_WITH_TIMEOUT(problems.count() >= 1, 10000);
        const QString why = problems.first().first().toString();
        QVERIFY2(why.contains("protocol version 1") && why.contains("version 2"), qPrintable(why));
        QTest::qWait(2500); // two more polls: still one report, and the old status is not read as ours
        QCOMPARE(problems.count(), 1);
        QVERIFY(session.chain().isEmpty());
    }

    void modelsFollowTheDaemonAndItsRestart() {
        SshLab lab(2);
        ChainFixture chain;
        writeFile(chain.data("a.txt"), "one");
        chain.commit("one");
        onboardRelayPair(lab, chain);
        ConsoleOnDaemon console(chain);
        auto& session = console.session;
        auto& daemon = console.daemon;
        ui::MainWindow window(session);
        QTRY_VERIFY_WITH_TIMEOUT(session.client().isConnected(), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(session.replicas().rowCount(), 2, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(session.blocks().rowCount(), 2, 10000);
        QCOMPARE(session.replicas().find("r2")->via, QString("r1"));
        QCOMPARE(window.topology()->nodeCount(), 3);

        // A commit from the console: the chain view grows and both replicas get it, r2 through r1.
        bool committed = false;
        writeFile(chain.data("a.txt"), "two");
        session.commit("two", QJsonArray{QJsonObject{{"op", "set"}, {"element", "file:a"}}}, {"file:a"},
                       [&](const QJsonObject& reply) { committed = reply.value("ok").toBool(); });
        QTRY_VERIFY_WITH_TIMEOUT(committed, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(session.blocks().tip(), qint64{2}, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(session.blocks().badge("r2", 2), QString("received"), 30000);
        QTRY_VERIFY_WITH_TIMEOUT(window.topology()->nodeText("r2").contains("height 2"), 10000);
        QVERIFY(rowsOfKind(session.jobs(), "replication") >= 1);
        QCOMPARE(session.blocks().data(session.blocks().index(0, ui::BlockModel::Height), Qt::DisplayRole).toInt(), 2);

        // The daemon goes away: the console says so, then reconnects by itself.
        QSignalSpy connection(&session, &ui::ConsoleSession::connectionChanged);
        daemon.stop();
        QTRY_VERIFY_WITH_TIMEOUT(!session.client().isConnected(), 10000);
        QTRY_VERIFY2_WITH_TIMEOUT(session.client().problem().contains("no streamchain daemon is running"),
                                  qPrintable(session.client().problem()), 5000);
        QVERIFY(window.connectionLabel()->text().contains("NOT CONNECTED"));
        QVERIFY(connection.count() >= 1);
        daemon.start();
        QTRY_VERIFY_WITH_TIMEOUT(session.client().isConnected(), 15000);
        writeFile(chain.data("a.txt"), "three");
        chain.commit("three");
        QTRY_COMPARE_WITH_TIMEOUT(session.blocks().tip(), qint64{3}, 15000);
        QTRY_COMPARE_WITH_TIMEOUT(session.blocks().badge("r1", 3), QString("received"), 30000);
    }

    void verifyMatrixShowsATamperedBlock() {
        SshLab lab(1);
        ChainFixture chain;
        writeFile(chain.data("a.txt"), "one");
        chain.commit("one");
        auto added = cli({"replica", "add", chain.root(), "r1", lab.url(0, "replica"), "--identity", lab.clientKey(),
                          "--accept-host-key", lab.hostKeyFingerprint(0), "--agent-path", STREAMCHAIN_CLI});
        QVERIFY2(added.exitCode == 0, added.err.c_str());
        std::string tampered = lab.replicaPath(0, "replica/blocks/000000000001");
        sc::btrfs::setReadOnly(tampered, false); // keeps received_uuid: only hashing can tell
        writeFile(tampered + "/a.txt", "forged");
        sc::btrfs::setReadOnly(tampered, true);
        ConsoleOnDaemon console(chain);
        auto& session = console.session;
        QTRY_COMPARE_WITH_TIMEOUT(session.blocks().rowCount(), 2, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(session.replicas().rowCount(), 1, 10000);

        ui::VerifyDialog dialog(session);
        dialog.start({"r1"});
        QTRY_VERIFY_WITH_TIMEOUT(dialog.finished(), 30000);
        QVERIFY2(dialog.summary().contains("DIFFERENCES FOUND"), qPrintable(dialog.summary()));
        QVERIFY2(dialog.cell(0, "r1") == "MATCH", qPrintable(dialog.cell(0, "r1") + " | " + dialog.cell(1, "r1")));
        QVERIFY2(dialog.cell(1, "r1").startsWith("MISMATCH") && dialog.cell(1, "r1").contains("a.txt"),
                 qPrintable(dialog.cell(1, "r1")));
        QCOMPARE(session.blocks().badge("r1", 1), QString("mismatch"));
        QCOMPARE(session.blocks().badge("r1", 0), QString("verified"));
    }

    void addReplicaWizardHappyAndFailurePaths() {
        SshLab lab(1);
        ChainFixture chain;
        writeFile(chain.data("a.txt"), "one");
        chain.commit("one");
        ConsoleOnDaemon console(chain);
        auto& session = console.session;
        QTRY_COMPARE_WITH_TIMEOUT(session.blocks().rowCount(), 2, 10000);
        const std::string registry = chain.root() + "/.streamchain/replicas.json";

        auto runWizard = [&](const std::string& name, const std::string& url) {
            auto wizard = std::make_unique<ui::AddReplicaWizard>(session);
            wizard->targetPage()->name->setText(q(name));
            wizard->targetPage()->url->setText(q(url));
            wizard->targetPage()->identity->setText(q(lab.clientKey()));
            wizard->show();
            wizard->next();
            return wizard;
        };

        // Unreachable host: the connect step fails, nothing is registered.
        auto unreachable = runWizard("far", "ssh://root@10.255.255.1/srv/replica");
        QTRY_VERIFY_WITH_TIMEOUT(!unreachable->onboardPage()->error().isEmpty(), 30000);
        QVERIFY2(unreachable->onboardPage()->error().contains("connect"), qPrintable(unreachable->onboardPage()->error()));
        QVERIFY(!unreachable->onboardPage()->isComplete());

        // Unknown host key: shown with its fingerprint; without confirmation nothing goes further.
        auto wizard = runWizard("r1", lab.url(0, "replica"));
        QTRY_VERIFY_WITH_TIMEOUT(!wizard->onboardPage()->fingerprint().isEmpty(), 30000);
        QCOMPARE(wizard->onboardPage()->fingerprint(), q(lab.hostKeyFingerprint(0)));
        QVERIFY(!wizard->onboardPage()->acceptButton->isEnabled());
        QVERIFY(!wizard->onboardPage()->isComplete());
        QVERIFY(!fs::exists(registry));

        // Confirmed: connect, check the path, deploy the agent, sync, register; the topology shows it.
        wizard->onboardPage()->confirm->setChecked(true);
        QVERIFY(wizard->onboardPage()->acceptButton->isEnabled());
        wizard->onboardPage()->acceptButton->click();
        QTRY_VERIFY_WITH_TIMEOUT(wizard->onboardPage()->isComplete(), 120000);
        QVERIFY(fs::exists(lab.replicaPath(0, "replica/blocks/000000000001")));
        QTRY_COMPARE_WITH_TIMEOUT(session.replicas().rowCount(), 1, 10000);

        // Not btrfs: the path check fails (the host key is pinned by now).
        auto notBtrfs = runWizard("r9", "ssh://root@" + lab.host(0).address + "/tmp/not-btrfs");
        QTRY_VERIFY_WITH_TIMEOUT(!notBtrfs->onboardPage()->error().isEmpty(), 60000);
        QVERIFY2(notBtrfs->onboardPage()->error().contains("not btrfs"), qPrintable(notBtrfs->onboardPage()->error()));
        QVERIFY(!contains(readFile(registry), "r9"));

        // Remove (the confirmation is the main window's; the session sends the request).
        bool removed = false;
        session.removeReplica("r1", [&](const QJsonObject& reply) { removed = reply.value("ok").toBool(); });
        QTRY_VERIFY_WITH_TIMEOUT(removed, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(session.replicas().rowCount(), 0, 10000);
        QVERIFY(!contains(readFile(registry), "\"r1\""));
    }

    void anOperatorSeesWhyARequestWasRefused() {
        OperatorAccount op;
        ChainFixture chain;
        TempDir run("run");
        fs::permissions(run.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
        std::string socket = run.path() + "/control.sock";
        DaemonProcess daemon(chain.root(), socket, {"--group", q(op.group()), "--key-dir", q(run.path() + "/keys")});
        ui::ConsoleSession session(q(socket));
        ui::MainWindow window(session);
        {
            // The console's connections carry the operator's credentials, as when it runs as them.
            OperatorAccount::Impersonation asOperator(op);
            session.start();
            QTRY_VERIFY_WITH_TIMEOUT(session.client().isConnected(), 10000);
        }
        QTRY_VERIFY_WITH_TIMEOUT(!session.keyDirectory().isEmpty(), 10000);
        QVERIFY(!session.privileged());
        session.addReplica({{"name", "r9"}, {"url", "ssh://root@127.0.0.1:9/srv/r9"}, {"identity", "/etc/shadow"}});
        QTRY_VERIFY_WITH_TIMEOUT(window.problemLabel()->text().contains("refused (key-directory)"), 10000);
        QVERIFY(!fs::exists(chain.root() + "/.streamchain/replicas.json") ||
                !contains(readFile(chain.root() + "/.streamchain/replicas.json"), "r9"));
    }

    void cancelStopsARunningStream() {
        ChainFixture chain(2048);
        writeFile(chain.data("big.bin"), mustRun({"head", "-c", "600000000", "/dev/urandom"}));
        chain.commit("big");
        BtrfsImage target(2048);
        const std::string replica = target.path("replica");
        ConsoleOnDaemon console(chain);
        auto& session = console.session;
        QTRY_COMPARE_WITH_TIMEOUT(session.blocks().rowCount(), 2, 10000);
        qint64 job = -1;
        session.stream({q(replica)}, "full", "", std::nullopt, [&](const QJsonObject& reply) {
            job = reply.value("ok").toBool() ? reply.value("job").toInteger() : -2;
        });
        QTRY_VERIFY_WITH_TIMEOUT(job != -1, 10000);
        QVERIFY(job >= 0);
        auto progressed = [&] {
            for (int i = 0; i < session.jobs().rowCount(); ++i)
                if (session.jobs().rowAt(i)->id == job && session.jobs().rowAt(i)->done > 0)
                    return true;
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(progressed(), 30000);
        session.cancelJob(job);
        auto finished = [&]() -> QString {
            for (int i = 0; i < session.jobs().rowCount(); ++i)
                if (session.jobs().rowAt(i)->id == job && !session.jobs().rowAt(i)->running())
                    return session.jobs().rowAt(i)->state + ": " + session.jobs().rowAt(i)->outcome;
            return {};
        };
        QTRY_VERIFY_WITH_TIMEOUT(!finished().isEmpty(), 30000);
        QVERIFY2(finished().startsWith("cancelled"), qPrintable(finished()));
        // No partial block: the big one never appeared, and nothing is left in staging.
        QVERIFY(!fs::exists(replica + "/blocks/000000000001"));
        QVERIFY(namesIn(replica + "/.streamchain/staging").empty());
    }
};

STREAMCHAIN_CONSOLE_TEST_MAIN(TestConsole)
#include "test_console.moc"
