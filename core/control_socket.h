#pragma once
// The daemon's local control socket: JSON lines over a Unix stream socket. Only
// root, the daemon's own user and members of the `streamchain` group may connect
// (checked by the peer's credentials, not by file modes alone).
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace sc {

class ControlServer {
public:
    // Handles one request; returns the reply. A reply with "subscribe": true turns the
    // connection into an event stream (broadcast() lines from then on).
    using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

    ControlServer(std::string socketPath, Handler handler);
    ~ControlServer(); // stops the thread, removes the socket file
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    void broadcast(const nlohmann::json& event); // to every subscriber; slow ones are dropped
    const std::string& path() const { return path_; }

private:
    struct Client {
        int fd = -1;
        std::string in, out;
        bool subscribed = false;
    };
    void serve();
    bool peerAllowed(int fd) const;
    void handleLine(Client& client, const std::string& line);

    std::string path_;
    Handler handler_;
    int listenFd_ = -1;
    int wakeFd_[2] = {-1, -1};
    std::mutex mutex_;
    std::vector<std::unique_ptr<Client>> clients_;
    std::thread thread_;
    bool stopping_ = false;
};

// One request, one reply (for `streamchain status` and friends).
nlohmann::json controlRequest(const std::string& socketPath, const nlohmann::json& request, int timeoutMs = 10000);
std::string defaultControlSocket(); // /run/streamchain/control.sock

} // namespace sc
