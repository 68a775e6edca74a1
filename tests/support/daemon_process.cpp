#include "tests/support/daemon_process.h"

#include "core/daemon/control_client.h"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <thread>

namespace sctest {

DaemonProcess::DaemonProcess(const std::string& chain, const std::string& socket, QStringList extra)
    : DaemonProcess(chain, socket, Launch{std::move(extra), {}, {}, 0}) {}

DaemonProcess::DaemonProcess(const std::string& chain, const std::string& socket, Launch launch)
    : chain_(chain), socket_(socket), launch_(std::move(launch)) {
    process_.setProcessChannelMode(launch_.logFile.empty() ? QProcess::ForwardedErrorChannel
                                                           : QProcess::SeparateChannels);
    if (!launch_.logFile.empty())
        process_.setStandardErrorFile(QString::fromStdString(launch_.logFile), QIODevice::Append);
    if (!launch_.environment.isEmpty())
        process_.setEnvironment(QProcess::systemEnvironment() + launch_.environment);
    const rlim_t fileLimit = launch_.fileLimit;
    process_.setChildProcessModifier([fileLimit] {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fileLimit != 0) {
            rlimit limit{fileLimit, fileLimit};
            ::setrlimit(RLIMIT_NOFILE, &limit);
        }
    });
    start();
}

DaemonProcess::~DaemonProcess() { stop(); }

void DaemonProcess::start() {
    process_.start(STREAMCHAIN_CLI, QStringList{"daemon", QString::fromStdString(chain_), "--socket",
                                                QString::fromStdString(socket_), "--max-backoff", "1"} +
                                        launch_.extra);
    if (!process_.waitForStarted())
        throw std::runtime_error("daemon did not start");
    for (int i = 0; i < 100 && !std::filesystem::exists(socket_); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

int DaemonProcess::stop() {
    if (process_.state() == QProcess::NotRunning)
        return process_.exitCode();
    process_.terminate();
    bool onItsOwn = process_.waitForFinished(10000);
    if (!onItsOwn) {
        process_.kill();
        process_.waitForFinished(2000);
    }
    return onItsOwn && process_.exitStatus() == QProcess::NormalExit ? process_.exitCode() : -1;
}

nlohmann::json DaemonProcess::status() const { return sc::controlRequest(socket_, {{"op", "status"}}); }

nlohmann::json DaemonProcess::replica(const std::string& name) const {
    nlohmann::json current = status(); // keep the temporary alive for the loop
    for (const auto& r : current["chains"][0]["replicas"])
        if (r["name"] == name)
            return r;
    return {};
}

bool DaemonProcess::waitFor(const std::function<bool(const nlohmann::json&)>& condition, const std::string& name,
                            double seconds) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        nlohmann::json r = replica(name);
        if (!r.is_null() && condition(r))
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

nlohmann::json DaemonProcess::waitForJob(int id) const {
    for (int i = 0; i < 300; ++i) {
        nlohmann::json current = status();
        for (const auto& j : current["jobs"])
            if (j["job"] == id && j["state"] != "running")
                return j;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return nullptr;
}

bool inSyncAt(const nlohmann::json& r, int height) { return r["phase"] == "in-sync" && r["height"] == height; }

} // namespace sctest
