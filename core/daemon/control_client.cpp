#include "core/daemon/control_client.h"

#include "core/base/error.h"
#include "core/base/file_io.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sc {

std::string defaultControlSocket() { return "/run/streamchain/control.sock"; }

sockaddr_un controlSocketAddress(const std::string& socketPath) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socketPath.size() >= sizeof address.sun_path)
        throw Error("control socket path too long: " + socketPath, ExitCode::Usage);
    std::memcpy(address.sun_path, socketPath.c_str(), socketPath.size() + 1);
    return address;
}

nlohmann::json controlRequest(const std::string& socketPath, const nlohmann::json& request, int timeoutMs) {
    sockaddr_un address = controlSocketAddress(socketPath);
    FileDescriptor fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        int err = errno;
        if (err == ENOENT || err == ECONNREFUSED)
            throw Error("no streamchain daemon is running (no socket at " + socketPath +
                        "); start one with `streamchain daemon CHAIN...` or `systemctl start streamchain`");
        throwSystemError("cannot reach the daemon at " + socketPath, err);
    }
    std::string line = request.dump() + "\n";
    [[maybe_unused]] auto written = ::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL);
    std::string reply;
    pollfd p{fd.get(), POLLIN, 0};
    while (reply.find('\n') == std::string::npos) {
        if (::poll(&p, 1, timeoutMs) <= 0)
            throw Error("the daemon at " + socketPath + " did not answer");
        char buffer[65536];
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n <= 0)
            break;
        reply.append(buffer, static_cast<std::size_t>(n));
    }
    fd.reset();
    auto parsed = nlohmann::json::parse(reply.substr(0, reply.find('\n')), nullptr, false);
    if (parsed.is_discarded())
        throw Error("the daemon at " + socketPath + " sent a malformed reply");
    if (!parsed.value("ok", true))
        throw Error("daemon: " + parsed.value("error", std::string("request failed")));
    return parsed;
}

} // namespace sc
