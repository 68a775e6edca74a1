// streamchain-console: the operator console. It talks only to the daemon's
// control socket and refuses to run as root: privileged work stays in the daemon.
#include "ui/console_session.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QTimer>
#include <cstdio>
#include <string_view>
#include <unistd.h>

int main(int argc, char** argv) {
    // Answered before Qt needs a display, so packaging checks run anywhere.
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == "--version") {
            std::printf("streamchain-console %s\n", STREAMCHAIN_VERSION);
            return 0;
        }
    QApplication app(argc, argv);
    QApplication::setApplicationName("streamchain-console");
    QApplication::setApplicationVersion(STREAMCHAIN_VERSION);
    QApplication::setDesktopFileName("org.streamchain.Console");
    QApplication::setWindowIcon(QIcon(":/streamchain.svg"));
    QCommandLineParser parser;
    parser.setApplicationDescription("The streamchain operator console: chain, replicas, live throughput and lag, "
                                     "onboarding and verification, through the daemon's control socket.");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption socket("socket", "The daemon's control socket.", "path", "/run/streamchain/control.sock");
    QCommandLineOption screenshot("screenshot", "Save a PNG of the window after N seconds, then quit.", "file");
    QCommandLineOption after("after", "Seconds before --screenshot.", "seconds", "5");
    parser.addOptions({socket, screenshot, after});
    parser.process(app);
    if (::geteuid() == 0) {
        std::fprintf(stderr, "streamchain-console: refusing to run as root; run it as a user in the streamchain "
                             "group (the daemon does the privileged work)\n");
        return 2;
    }
    ui::ConsoleSession session(parser.value(socket));
    ui::MainWindow window(session);
    window.show();
    session.start();
    if (parser.isSet(screenshot)) {
        QString file = parser.value(screenshot);
        QTimer::singleShot(static_cast<int>(parser.value(after).toDouble() * 1000), &window, [&window, file] {
            bool saved = window.grab().save(file);
            std::fprintf(stderr, "%s %s\n", saved ? "saved" : "could not save", file.toLocal8Bit().constData());
            QApplication::exit(saved ? 0 : 1);
        });
    }
    return QApplication::exec();
}
