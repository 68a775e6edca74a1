#pragma once
// The daemon's numbers in the Prometheus text format, served over HTTP on
// loopback only (`streamchain daemon --metrics-port PORT`): chain tips and, per
// replica, height, blocks behind, lag, bytes, rate, failures and whether it is in sync.
#include "core/base/file_io.h"

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace sc {

// From the daemon's status reply.
std::string prometheusText(const nlohmann::json& status);

class MetricsServer {
public:
    // Listens on 127.0.0.1:port (0: any free port); `render` runs for every scrape.
    MetricsServer(int port, std::function<std::string()> render);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;
    int port() const { return port_; }

private:
    void serve();
    void answer(int fd);

    std::function<std::string()> render_;
    FileDescriptor listenFd_;
    Pipe wake_; // written to end the serving thread's poll
    int port_ = 0;
    std::thread thread_;
};

} // namespace sc
