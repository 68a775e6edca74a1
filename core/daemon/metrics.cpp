#include "core/daemon/metrics.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/messages/wire_names.h"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

namespace sc {

namespace {

// Label values are escaped as the text format wants: backslash, quote, newline.
std::string labelValue(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

struct Family {
    const char* name;
    const char* type;
    const char* help;
    std::ostringstream samples;
};

} // namespace

std::string prometheusText(const nlohmann::json& status) {
    Family tip{"streamchain_chain_tip_height", "gauge", "Height of the newest block of the chain.", {}};
    Family height{"streamchain_replica_height", "gauge", "Newest block the replica holds (-1: unknown).", {}};
    Family behind{"streamchain_replica_blocks_behind", "gauge", "Blocks the replica lacks.", {}};
    Family lag{"streamchain_replica_lag_seconds", "gauge", "Age of the oldest block the replica lacks.", {}};
    Family sent{"streamchain_replica_sent_bytes_total", "counter", "Stream bytes sent towards the replica.", {}};
    Family resumed{"streamchain_replica_resumed_bytes_total", "counter",
                   "Bytes not sent again because the replica had them spooled.", {}};
    Family rate{"streamchain_replica_rate_bytes_per_second", "gauge", "Rate of the current or last stream.", {}};
    Family failures{"streamchain_replica_failures", "gauge", "Failed attempts since the last success.", {}};
    Family inSync{"streamchain_replica_in_sync", "gauge", "1 when the replica holds the chain's tip.", {}};
    for (const auto& chain : status.value(wire::kChains, nlohmann::json::array())) {
        std::string chainLabel = "chain=\"" + labelValue(chain.value(wire::kPath, std::string())) + "\"";
        if (chain[wire::kTip].is_number())
            tip.samples << tip.name << "{" << chainLabel << "} " << chain[wire::kTip].get<std::uint64_t>()
                        << "\n";
        for (const auto& r : chain.value(wire::kReplicas, nlohmann::json::array())) {
            std::string labels =
                "{" + chainLabel + ",replica=\"" + labelValue(r.value(wire::kName, std::string())) + "\"} ";
            height.samples << height.name << labels
                           << (r[wire::kHeight].is_number() ? r[wire::kHeight].get<std::int64_t>() : -1)
                           << "\n";
            behind.samples << behind.name << labels << r.value(wire::kBlocksBehind, 0ull) << "\n";
            lag.samples << lag.name << labels << r.value(wire::kLagSeconds, 0.0) << "\n";
            sent.samples << sent.name << labels << r.value(wire::kBytesSent, 0ull) << "\n";
            resumed.samples << resumed.name << labels << r.value(wire::kResumedBytes, 0ull) << "\n";
            rate.samples << rate.name << labels << r.value(wire::kRate, 0.0) << "\n";
            failures.samples << failures.name << labels << r.value(wire::kFailures, 0u) << "\n";
            inSync.samples << inSync.name << labels
                           << (r.value(wire::kPhase, std::string()) == wire::kPhaseInSync ? 1 : 0) << "\n";
        }
    }
    std::string text;
    for (Family* family : {&tip, &height, &behind, &lag, &sent, &resumed, &rate, &failures, &inSync}) {
        text += std::string("# HELP ") + family->name + " " + family->help + "\n";
        text += std::string("# TYPE ") + family->name + " " + family->type + "\n";
        text += family->samples.str();
    }
    return text;
}

MetricsServer::MetricsServer(int port, std::function<std::string()> render) : render_(std::move(render)) {
    listenFd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listenFd_)
        throwSystemError("metrics: cannot create a socket", errno);
    int yes = 1;
    ::setsockopt(listenFd_.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK); // never beyond this machine
    if (::bind(listenFd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listenFd_.get(), 16) != 0) {
        int err = errno;
        throwSystemError("metrics: cannot listen on 127.0.0.1:" + std::to_string(port), err);
    }
    socklen_t length = sizeof address;
    ::getsockname(listenFd_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    wake_ = openPipe(O_CLOEXEC, "metrics: cannot create a pipe");
    thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() {
    char byte = 1;
    [[maybe_unused]] auto written = ::write(wake_.write.get(), &byte, 1);
    thread_.join();
}

void MetricsServer::serve() {
    while (true) {
        pollfd fds[2] = {{listenFd_.get(), POLLIN, 0}, {wake_.read.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR)
            return;
        if (fds[1].revents)
            return;
        if (!(fds[0].revents & POLLIN))
            continue;
        FileDescriptor client(::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (client)
            answer(client.get());
    }
}

void MetricsServer::answer(int fd) {
    // One short request at a time: a scraper sends a few hundred bytes and waits.
    std::string request;
    char buffer[1024];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
        pollfd readable{fd, POLLIN, 0};
        if (::poll(&readable, 1, 2000) <= 0)
            return;
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0)
            return;
        request.append(buffer, static_cast<std::size_t>(n));
    }
    std::string status = "200 OK", body;
    if (request.rfind("GET /metrics ", 0) == 0 || request.rfind("GET / ", 0) == 0) {
        try {
            body = render_();
        } catch (const std::exception& e) {
            status = "500 Internal Server Error";
            body = std::string(e.what()) + "\n";
        }
    } else {
        status = "404 Not Found";
        body = "only GET /metrics is served here\n";
    }
    std::string response = "HTTP/1.1 " + status +
                           "\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body;
    for (std::size_t done = 0; done < response.size();) {
        ssize_t n = ::send(fd, response.data() + done, response.size() - done, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        done += static_cast<std::size_t>(n);
    }
}

} // namespace sc
