// Speaks to the daemon's control socket as a separate process would, so tests can
// run it as another user (setpriv) and misbehave on purpose:
//   control_probe request SOCKET JSON          one request, prints the reply line
//   control_probe flood SOCKET SECONDS JSON    pipelines JSON for SECONDS without reading a reply
//   control_probe idle SOCKET COUNT SECONDS    holds COUNT connections open, then prints
//                                              {"connected":N,"refused":M,"failed":K}
#include "tests/support/socket_lines.h"

#include <chrono>
#include <cstdio>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int request(const std::string& socket, const std::string& json) {
    int fd = sctest::connectToSocket(socket);
    if (fd < 0) {
        std::perror("connect");
        return 2;
    }
    sctest::sendLine(fd, json);
    std::string buffer, reply = sctest::readLine(fd, buffer, 10);
    ::close(fd);
    std::printf("%s\n", reply.c_str());
    return reply.empty() ? 3 : 0;
}

int flood(const std::string& socket, double seconds, const std::string& json) {
    int fd = sctest::connectToSocket(socket);
    if (fd < 0) {
        std::perror("connect");
        return 2;
    }
    std::string lines;
    for (int i = 0; i < 64; ++i)
        lines += json + "\n";
    std::size_t sent = 0;
    auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
        ssize_t n = ::send(fd, lines.data(), lines.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            sent += static_cast<std::size_t>(n);
        else if (n < 0 && errno != EAGAIN)
            break; // disconnected by the daemon
        else
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::printf("{\"bytes_sent\":%zu}\n", sent);
    ::close(fd);
    return 0;
}

int idle(const std::string& socket, int count, double seconds) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    std::vector<int> fds;
    int failed = 0;
    for (int i = 0; i < count; ++i) {
        int fd = -1;
        for (int attempt = 0; fd < 0 && attempt < 50; ++attempt) {
            fd = sctest::connectToSocket(socket); // a full backlog refuses until the daemon accepts
            if (fd < 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (fd < 0)
            ++failed;
        else
            fds.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    int refused = 0;
    for (int fd : fds) {
        pollfd p{fd, POLLIN, 0};
        char buffer[512];
        if (::poll(&p, 1, 0) > 0) {
            ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
            if (n >= 0 && (n == 0 || std::string(buffer, static_cast<std::size_t>(n)).find("refused") != std::string::npos))
                ++refused;
        }
        ::close(fd);
    }
    std::printf("{\"connected\":%zu,\"refused\":%d,\"failed\":%d}\n", fds.size(), refused, failed);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 3 && args[0] == "request")
        return request(args[1], args[2]);
    if (args.size() == 4 && args[0] == "flood")
        return flood(args[1], std::stod(args[2]), args[3]);
    if (args.size() == 4 && args[0] == "idle")
        return idle(args[1], std::stoi(args[2]), std::stod(args[3]));
    std::fprintf(stderr, "usage: control_probe request SOCKET JSON | flood SOCKET SECONDS JSON | idle SOCKET COUNT SECONDS\n");
    return 2;
}
