#include "core/control_socket.h"

#include "core/error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sc {

namespace {

constexpr std::size_t kMaxRequestBytes = 1u << 20;
constexpr std::size_t kMaxPendingOutput = 4u << 20; // a subscriber this far behind is dropped

sockaddr_un socketAddress(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path)
        throw Error("control socket path too long: " + path, ExitCode::Usage);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

gid_t streamchainGroup() {
    group* g = ::getgrnam("streamchain");
    return g ? g->gr_gid : static_cast<gid_t>(-1);
}

// Supplementary groups of a process, from /proc (SO_PEERCRED gives only the primary one).
bool processInGroup(pid_t pid, gid_t gid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Groups:", 0) != 0)
            continue;
        std::istringstream groups(line.substr(7));
        unsigned long g;
        while (groups >> g)
            if (g == gid)
                return true;
    }
    return false;
}

} // namespace

std::string defaultControlSocket() { return "/run/streamchain/control.sock"; }

ControlServer::ControlServer(std::string socketPath, Handler handler)
    : path_(std::move(socketPath)), handler_(std::move(handler)) {
    fs::create_directories(fs::path(path_).parent_path());
    sockaddr_un address = socketAddress(path_);
    // A socket file left by a daemon that died: replace it only if nobody answers on it.
    if (fs::exists(path_)) {
        int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool alive = ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        ::close(probe);
        if (alive)
            throw Error("another streamchain daemon is already serving " + path_, ExitCode::Busy);
        fs::remove(path_);
    }
    listenFd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listenFd_ < 0 || ::bind(listenFd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listenFd_, 16) != 0)
        throwSystemError("cannot listen on " + path_, errno);
    gid_t group = streamchainGroup();
    if (group != static_cast<gid_t>(-1) && ::chown(path_.c_str(), 0, group) != 0)
        throwSystemError("cannot hand " + path_ + " to group streamchain", errno);
    ::chmod(path_.c_str(), 0660);
    if (::pipe2(wakeFd_, O_CLOEXEC | O_NONBLOCK) != 0)
        throwSystemError("cannot create a pipe", errno);
    thread_ = std::thread([this] { serve(); });
}

ControlServer::~ControlServer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    char byte = 'x';
    [[maybe_unused]] auto n = ::write(wakeFd_[1], &byte, 1);
    if (thread_.joinable())
        thread_.join();
    for (auto& client : clients_)
        ::close(client->fd);
    ::close(listenFd_);
    ::close(wakeFd_[0]);
    ::close(wakeFd_[1]);
    std::error_code ec;
    fs::remove(path_, ec);
}

bool ControlServer::peerAllowed(int fd) const {
    ucred peer{};
    socklen_t size = sizeof peer;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0)
        return false;
    if (peer.uid == 0 || peer.uid == ::geteuid())
        return true;
    gid_t group = streamchainGroup();
    return group != static_cast<gid_t>(-1) && (peer.gid == group || processInGroup(peer.pid, group));
}

void ControlServer::broadcast(const nlohmann::json& event) {
    std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    {
        std::lock_guard lock(mutex_);
        for (auto& client : clients_)
            if (client->subscribed && client->out.size() < kMaxPendingOutput)
                client->out += line;
    }
    char byte = 'e';
    [[maybe_unused]] auto n = ::write(wakeFd_[1], &byte, 1);
}

void ControlServer::handleLine(Client& client, const std::string& line) {
    nlohmann::json reply;
    auto request = nlohmann::json::parse(line, nullptr, false);
    if (request.is_discarded() || !request.is_object()) {
        reply = {{"ok", false}, {"error", "request is not a JSON object"}};
    } else {
        try {
            reply = handler_(request);
        } catch (const std::exception& e) {
            reply = {{"ok", false}, {"error", e.what()}};
        }
    }
    std::lock_guard lock(mutex_);
    if (reply.value("subscribe", false))
        client.subscribed = true;
    client.out += reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void ControlServer::serve() {
    while (true) {
        std::vector<pollfd> fds{{listenFd_, POLLIN, 0}, {wakeFd_[0], POLLIN, 0}};
        std::vector<Client*> polled;
        {
            std::lock_guard lock(mutex_);
            if (stopping_)
                return;
            for (auto& client : clients_) {
                fds.push_back({client->fd, static_cast<short>(POLLIN | (client->out.empty() ? 0 : POLLOUT)), 0});
                polled.push_back(client.get());
            }
        }
        if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR)
            return;
        if (fds[1].revents & POLLIN) {
            char drain[256];
            while (::read(wakeFd_[0], drain, sizeof drain) > 0) {
            }
        }
        if (fds[0].revents & POLLIN) {
            int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0 && !peerAllowed(fd)) {
                std::string refusal = R"({"ok":false,"error":"not allowed: root or group streamchain only"})" "\n";
                [[maybe_unused]] auto n = ::write(fd, refusal.data(), refusal.size());
                ::close(fd);
            } else if (fd >= 0) {
                auto client = std::make_unique<Client>();
                client->fd = fd;
                std::lock_guard lock(mutex_);
                clients_.push_back(std::move(client));
            }
        }
        std::vector<Client*> closed;
        for (std::size_t i = 0; i < polled.size(); ++i) {
            Client& client = *polled[i];
            short events = fds[i + 2].revents;
            if (events & (POLLIN | POLLHUP | POLLERR)) {
                char buffer[65536];
                ssize_t n = ::read(client.fd, buffer, sizeof buffer);
                if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
                    closed.push_back(&client);
                    continue;
                }
                if (n > 0)
                    client.in.append(buffer, static_cast<std::size_t>(n));
                for (auto newline = client.in.find('\n'); newline != std::string::npos; newline = client.in.find('\n')) {
                    std::string line = client.in.substr(0, newline);
                    client.in.erase(0, newline + 1);
                    handleLine(client, line);
                }
                if (client.in.size() > kMaxRequestBytes)
                    closed.push_back(&client);
            }
            std::lock_guard lock(mutex_);
            if (!client.out.empty()) {
                ssize_t n = ::send(client.fd, client.out.data(), client.out.size(), MSG_NOSIGNAL);
                if (n > 0)
                    client.out.erase(0, static_cast<std::size_t>(n));
                else if (n < 0 && errno != EAGAIN)
                    closed.push_back(&client);
            }
        }
        std::lock_guard lock(mutex_);
        for (Client* gone : closed) {
            ::close(gone->fd);
            std::erase_if(clients_, [&](const std::unique_ptr<Client>& c) { return c.get() == gone; });
        }
    }
}

nlohmann::json controlRequest(const std::string& socketPath, const nlohmann::json& request, int timeoutMs) {
    sockaddr_un address = socketAddress(socketPath);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        int err = errno;
        ::close(fd);
        if (err == ENOENT || err == ECONNREFUSED)
            throw Error("no streamchain daemon is running (no socket at " + socketPath +
                        "); start one with `streamchain daemon CHAIN...` or `systemctl start streamchain`");
        throwSystemError("cannot reach the daemon at " + socketPath, err);
    }
    std::string line = request.dump() + "\n";
    [[maybe_unused]] auto written = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    std::string reply;
    pollfd p{fd, POLLIN, 0};
    while (reply.find('\n') == std::string::npos) {
        if (::poll(&p, 1, timeoutMs) <= 0) {
            ::close(fd);
            throw Error("the daemon at " + socketPath + " did not answer");
        }
        char buffer[65536];
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0)
            break;
        reply.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    auto parsed = nlohmann::json::parse(reply.substr(0, reply.find('\n')), nullptr, false);
    if (parsed.is_discarded())
        throw Error("the daemon at " + socketPath + " sent a malformed reply");
    if (!parsed.value("ok", true))
        throw Error("daemon: " + parsed.value("error", std::string("request failed")));
    return parsed;
}

} // namespace sc
