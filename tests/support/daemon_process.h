#pragma once
// `streamchain daemon` for a test: started on a chain with its own control
// socket, stopped (and killed with the test, PDEATHSIG) at the end.
#include <QProcess>
#include <QStringList>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace sctest {

class DaemonProcess {
public:
    struct Launch {
        QStringList extra;       // more daemon options
        std::string logFile;     // its stderr goes there instead of the test's
        QStringList environment; // extra VAR=value
        unsigned fileLimit = 0;  // RLIMIT_NOFILE, soft and hard, when not 0
    };
    DaemonProcess(const std::string& chain, const std::string& socket, QStringList extra = {});
    DaemonProcess(const std::string& chain, const std::string& socket, Launch launch);
    ~DaemonProcess();
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    void start(); // again, after stop()
    int stop();   // SIGTERM; returns the exit code, -1 if it crashed or had to be killed
    qint64 pid() const { return process_.processId(); }
    nlohmann::json status() const;
    nlohmann::json replica(const std::string& name) const; // null if unknown
    bool waitFor(const std::function<bool(const nlohmann::json&)>& condition, const std::string& name,
                 double seconds = 40) const;
    nlohmann::json waitForJob(int id) const; // its status entry once not running; null after 30 s
    int exitCode() { return stop(); }

private:
    std::string chain_, socket_;
    Launch launch_;
    QProcess process_;
};

bool inSyncAt(const nlohmann::json& replica, int height);

} // namespace sctest
