// Screenshots of the console under Xvfb at 1280x800: the main window on the demo
// lab (r1, r2, r3 behind r2, workload running) and each dialog, saved as PNGs in
// the build tree (screenshots/) for a person to look at. The test checks they
// were drawn (not blank) and that the window shows the lab's state; and an
// operator's console after the daemon refused a request.
#include "tests/support/chain_fixture.h"
#include "tests/support/operator_lab.h"
#include "tests/ui/console_test_main.h"
#include "ui/action_dialogs.h"
#include "ui/add_replica_wizard.h"
#include "ui/console_session.h"
#include "ui/main_window.h"
#include "ui/time_series_chart.h"
#include "ui/topology_view.h"
#include "ui/verify_dialog.h"

#include <QDir>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QTabWidget>
#include <random>
#include <set>

using namespace sctest;

namespace {

struct LabGuard {
    std::string dir;
    ~LabGuard() { run({STREAMCHAIN_CLI, "lab", "down", "--dir", dir}); }
};

// Saves the widget and checks it holds a real picture (many colours, not one flat fill).
bool save(QWidget& widget, const QString& name, QString& why) {
    QDir().mkpath(SCREENSHOT_DIR);
    QImage image = widget.grab().toImage();
    QString file = QString(SCREENSHOT_DIR) + "/" + name + ".png";
    if (!image.save(file)) {
        why = "cannot save " + file;
        return false;
    }
    std::set<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7)
        for (int x = 0; x < image.width(); x += 7)
            colours.insert(image.pixel(x, y));
    if (colours.size() < 20) {
        why = file + " is nearly blank";
        return false;
    }
    return true;
}

} // namespace

class TestScreenshots : public QObject {
    Q_OBJECT
private slots:
    void mainWindowAndDialogsOnTheLab() {
        TempDir base("shots");
        std::random_device random;
        const std::string dir = base.path() + "/lab", socket = base.path() + "/control.sock";
        LabGuard guard{dir};
        auto up = cli({"lab", "up", "--dir", dir, "--name", "scs" + std::to_string(random() % 100000), "--socket",
                       socket, "--interval", "1", "--metrics-port", "0"});
        QVERIFY2(up.exitCode == 0, (up.out + up.err).c_str());

        ui::ConsoleSession session(QString::fromStdString(socket));
        ui::MainWindow window(session);
        window.resize(1280, 800);
        window.show();
        session.start();
        QTRY_COMPARE_WITH_TIMEOUT(session.replicas().rowCount(), 3, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(session.blocks().tip() >= 6, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(window.topology()->nodeText("r3").contains("healthy"), 30000);
        QTest::qWait(4000); // some seconds of live charts
        QVERIFY(window.throughputChart()->seriesCount() >= 3);
        QVERIFY(window.lagChart()->seriesCount() == 3);
        QString why;
        QVERIFY2(save(window, "main-window", why), qPrintable(why));
        window.bottomTabs()->setCurrentIndex(1);
        QVERIFY2(save(window, "main-window-replicas", why), qPrintable(why));

        ui::CommitDialog commit(&window);
        commit.findChild<QLineEdit*>()->setText("raise the MTU on eth1");
        commit.findChild<QPlainTextEdit*>()->setPlainText(R"({"op": "set", "element": "port:eth1", "mtu": 9000})");
        commit.show();
        QVERIFY2(save(commit, "dialog-commit", why), qPrintable(why));

        ui::StreamDialog stream({"r1", "r2", "r3"}, session.tip(), &window);
        stream.setChecked({"r1", "r2"});
        stream.show();
        QVERIFY2(save(stream, "dialog-stream", why), qPrintable(why));

        ui::VerifyDialog verify(session, &window);
        verify.show();
        verify.start({"r1", "r2", "r3"});
        QTRY_VERIFY_WITH_TIMEOUT(verify.finished(), 60000);
        QVERIFY2(verify.summary().contains("every block matches"), qPrintable(verify.summary()));
        QVERIFY2(save(verify, "dialog-verify", why), qPrintable(why));

        ui::AddReplicaWizard wizard(session, &window);
        wizard.targetPage()->name->setText("r4");
        wizard.targetPage()->url->setText("ssh://root@10.255.255.1/srv/replica");
        wizard.show();
        QVERIFY2(save(wizard, "wizard-target", why), qPrintable(why));
        wizard.next();
        QTRY_VERIFY_WITH_TIMEOUT(!wizard.onboardPage()->error().isEmpty(), 30000);
        QVERIFY2(save(wizard, "wizard-failed-step", why), qPrintable(why));
    }

    // The console of an operator (not root) whose request the daemon refused: the
    // reason, with its rule, in the status bar.
    void anOperatorsRefusedRequest() {
        OperatorLab lab;
        lab.startDaemon();
        ui::ConsoleSession session(QString::fromStdString(lab.socket));
        ui::MainWindow window(session);
        window.resize(1280, 800);
        window.show();
        {
            OperatorAccount::Impersonation asOperator(lab.op);
            session.start();
            QTRY_VERIFY_WITH_TIMEOUT(session.client().isConnected(), 10000);
        }
        QTRY_VERIFY_WITH_TIMEOUT(session.blocks().rowCount() == 1, 10000);
        session.addReplica({{"name", "r4"}, {"url", "ssh://root@10.255.255.1/srv/replica"},
                            {"identity", QString::fromStdString(lab.rootKey)}});
        QTRY_VERIFY_WITH_TIMEOUT(window.problemLabel()->text().contains("refused (key-directory)"), 10000);
        QString why;
        QVERIFY2(save(window, "main-window-refused", why), qPrintable(why));
    }
};

STREAMCHAIN_CONSOLE_TEST_MAIN(TestScreenshots)
#include "test_screenshots.moc"
