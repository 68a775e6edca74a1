#include "core/daemon/control_socket.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/daemon/control_client.h"
#include "core/messages/daemon_messages.h"
#include "core/messages/wire_names.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sc {

namespace {

constexpr std::size_t kMaxRequestBytes = 1u << 20;
constexpr unsigned kRateLimitedLinesPerSecond = 10;

gid_t groupNamed(const std::string& name) {
    group* g = ::getgrnam(name.c_str());
    return g ? g->gr_gid : static_cast<gid_t>(-1);
}

// The peer's supplementary groups as they were when it connected (SO_PEERGROUPS),
// not as /proc shows them later for a pid that may be gone or reused.
bool peerInGroup(int fd, gid_t wanted) {
    std::vector<gid_t> groups(64);
    socklen_t size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) != 0) {
        if (errno != ERANGE)
            return false;
        groups.resize(size / sizeof(gid_t) + 1);
        size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) != 0)
            return false;
    }
    groups.resize(size / sizeof(gid_t));
    return std::find(groups.begin(), groups.end(), wanted) != groups.end();
}

std::string dumpLine(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// The one shape of a refusal on the wire, whether a request or a connection is refused.
nlohmann::json refusalReply(const RequestRefused& refusal) {
    return sc::refusalReply(refusal.what(), refusal.rule());
}

void sendRefusal(int fd, const RequestRefused& refusal) {
    std::string line = dumpLine(refusalReply(refusal));
    [[maybe_unused]] auto n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
}

} // namespace

struct ControlServer::Client {
    std::uint64_t id = 0;
    FileDescriptor fd;
    ControlPeer peer;
    std::string in, out;     // out: guarded by mutex_
    bool subscribed = false; // guarded by mutex_
    bool overflowed = false; // guarded by mutex_: events were dropped, so the client is let go
    bool busy = false;       // a request of this client is on the pool
    bool inputEnded = false; // the client shut down its side; answer what it asked, then close
    bool closed = false;
    std::chrono::steady_clock::time_point lastDrained = std::chrono::steady_clock::now(); // out last empty or moving
};

ControlServer::ControlServer(std::string socketPath, Handler handler, RunsInline runsInline,
                             ControlServerOptions options)
    : path_(std::move(socketPath)), handler_(std::move(handler)), runsInline_(std::move(runsInline)),
      options_(std::move(options)), group_(groupNamed(options_.group)) {
    fs::create_directories(fs::path(path_).parent_path());
    sockaddr_un address = controlSocketAddress(path_);
    // A socket file left by a daemon that died: replace it only if nobody answers on it.
    if (fs::exists(path_)) {
        FileDescriptor probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        bool alive = ::connect(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        probe.reset();
        if (alive)
            throw Error("another streamchain daemon is already serving " + path_, ExitCode::Busy);
        fs::remove(path_);
    }
    listenFd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listenFd_ || ::bind(listenFd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listenFd_.get(), 128) != 0)
        throwSystemError("cannot listen on " + path_, errno);
    if (group_ != static_cast<gid_t>(-1) && ::chown(path_.c_str(), ::geteuid(), group_) != 0)
        throwSystemError("cannot hand " + path_ + " to group " + options_.group, errno);
    ::chmod(path_.c_str(), 0660);
    wake_ = openPipe(O_CLOEXEC | O_NONBLOCK, "cannot create a pipe");
    // Kept in reserve: when the process runs out of descriptors, closing it lets
    // accept take the waiting client and tell it why instead of spinning on EMFILE.
    spareFd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    thread_ = std::thread([this] { serve(); });
    for (unsigned i = 0; i < std::max(1u, options_.requestThreads); ++i)
        requestThreads_.emplace_back([this] { runRequests(); });
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        stopping_ = true;
    }
    taskReady_.notify_all();
    char byte = 's';
    [[maybe_unused]] auto n = ::write(wake_.write.get(), &byte, 1);
    if (thread_.joinable())
        thread_.join();
    for (auto& thread : requestThreads_)
        thread.join();
    listenFd_.reset();
    std::error_code ec;
    fs::remove(path_, ec);
}

void ControlServer::log(const std::string& line) {
    if (options_.log)
        options_.log(line);
}

// At most kRateLimitedLinesPerSecond lines a second (refusals, disconnects, descriptor
// trouble): a flood of refused requests must not flood the log too.
void ControlServer::logRateLimited(const std::string& line) {
    std::lock_guard lock(logMutex_);
    long second = static_cast<long>(std::time(nullptr));
    if (second != limitedSecond_) {
        if (limitedSuppressed_ > 0)
            log("control: " + std::to_string(limitedSuppressed_) + " more such lines in the last second not logged");
        limitedSecond_ = second;
        limitedThisSecond_ = limitedSuppressed_ = 0;
    }
    if (++limitedThisSecond_ <= kRateLimitedLinesPerSecond)
        log(line);
    else
        ++limitedSuppressed_;
}

void ControlServer::broadcast(const nlohmann::json& event) {
    std::string line = dumpLine(event);
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, client] : clients_) {
            if (!client->subscribed || client->overflowed)
                continue;
            if (client->out.size() + line.size() > options_.maxPendingOutput)
                client->overflowed = true;
            else
                client->out += line;
        }
    }
    char byte = 'e';
    [[maybe_unused]] auto n = ::write(wake_.write.get(), &byte, 1);
}

ControlServer::Answer ControlServer::answer(std::uint64_t client, const nlohmann::json& request,
                                            const ControlPeer& peer) {
    nlohmann::json reply;
    try {
        reply = handler_(request, peer);
    } catch (const RequestRefused& e) {
        reply = refusalReply(e);
        logRateLimited("control: " + peer.label() + " " + request.value("op", std::string("?")) + ": " + e.what());
    } catch (const std::exception& e) {
        reply = errorReply(e.what());
    }
    return {client, dumpLine(reply), reply.is_object() && reply.value(wire::kSubscribe, false)};
}

void ControlServer::runRequests() {
    while (true) {
        Task task;
        {
            std::unique_lock lock(mutex_);
            taskReady_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
            if (stopping_)
                return;
            task = std::move(tasks_.front());
            tasks_.pop_front();
        }
        Answer done = answer(task.client, task.request, task.peer);
        {
            std::lock_guard lock(mutex_);
            answers_.push_back(std::move(done));
        }
        char byte = 'a';
        [[maybe_unused]] auto n = ::write(wake_.write.get(), &byte, 1);
    }
}

void ControlServer::admit(FileDescriptor fd) {
    ucred credentials{};
    socklen_t size = sizeof credentials;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0)
        return;
    ControlPeer peer{credentials.uid, credentials.gid, credentials.pid,
                     credentials.uid == 0 || credentials.uid == ::geteuid()};
    std::optional<RequestRefused> refusal;
    if (!peer.privileged && !(group_ != static_cast<gid_t>(-1) && (peer.gid == group_ || peerInGroup(fd.get(), group_)))) {
        refusal.emplace("group", "only root and members of group " + options_.group + " may use this daemon");
    } else {
        std::size_t members = 0, sameUser = 0;
        for (const auto& [id, client] : clients_) {
            members += !client->peer.privileged;
            sameUser += client->peer.uid == peer.uid;
        }
        if (peer.privileged ? clients_.size() >= options_.maxClients + options_.privilegedReserve
                            : members >= options_.maxClients)
            refusal.emplace("max-clients", "the daemon serves " + std::to_string(options_.maxClients) +
                                               " clients at once; try again later");
        else if (!peer.privileged && sameUser >= options_.maxClientsPerUser)
            refusal.emplace("max-clients", "one user may hold " + std::to_string(options_.maxClientsPerUser) +
                                               " connections at once; close some first");
    }
    if (refusal) {
        sendRefusal(fd.get(), *refusal);
        fd.reset();
        logRateLimited("control: " + peer.label() + " connection " + refusal->what());
        return;
    }
    auto client = std::make_unique<Client>();
    client->id = nextClient_++;
    client->fd = std::move(fd);
    client->peer = peer;
    std::lock_guard lock(mutex_);
    clients_.emplace(client->id, std::move(client));
}

// 0, or the errno that makes accepting pause (out of descriptors, or a failure to wait out).
int ControlServer::acceptClients() {
    for (int i = 0; i < 64; ++i) {
        int fd = ::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            admit(FileDescriptor(fd));
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
    }
    return 0;
}

// The spare descriptor makes room to take one waiting client and tell it why.
void ControlServer::refuseOneWithTheSpareDescriptor() {
    if (!spareFd_)
        return;
    spareFd_.reset();
    if (FileDescriptor fd(::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)); fd)
        sendRefusal(fd.get(), RequestRefused("descriptors", "the daemon is out of file descriptors"));
    spareFd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

void ControlServer::readFrom(Client& client) {
    char buffer[65536];
    ssize_t n = ::read(client.fd.get(), buffer, sizeof buffer);
    if (n > 0)
        client.in.append(buffer, static_cast<std::size_t>(n));
    else if (n == 0)
        client.inputEnded = true;
    else if (errno != EAGAIN && errno != EINTR)
        client.closed = true;
    if (client.in.size() > kMaxRequestBytes && client.in.find('\n') == std::string::npos) {
        sendRefusal(client.fd.get(), RequestRefused("request-size", "a request is one line of at most 1 MiB"));
        client.closed = true;
    }
}

// Starts the client's next request: at once when it is cheap, else on the pool. One
// at a time per client, and none while its unread replies pass the pause mark.
void ControlServer::dispatch(Client& client) {
    while (!client.busy && !client.closed) {
        {
            std::lock_guard lock(mutex_);
            if (client.out.size() >= options_.readPauseOutput)
                return;
        }
        auto newline = client.in.find('\n');
        if (newline == std::string::npos)
            return;
        std::string line = client.in.substr(0, newline);
        client.in.erase(0, newline + 1);
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        auto request = nlohmann::json::parse(line, nullptr, false);
        if (request.is_discarded() || !request.is_object()) {
            std::lock_guard lock(mutex_);
            client.out += dumpLine(errorReply("request is not a JSON object"));
            continue;
        }
        if (runsInline_ && runsInline_(request)) {
            Answer done = answer(client.id, request, client.peer);
            std::lock_guard lock(mutex_);
            client.out += done.line;
            client.subscribed = client.subscribed || done.subscribe;
            continue;
        }
        client.busy = true;
        std::lock_guard lock(mutex_);
        tasks_.push_back({client.id, std::move(request), client.peer});
        taskReady_.notify_one();
    }
}

void ControlServer::collectAnswers() {
    std::vector<Answer> answers;
    {
        std::lock_guard lock(mutex_);
        answers.swap(answers_);
    }
    for (auto& done : answers) {
        auto found = clients_.find(done.client);
        if (found == clients_.end())
            continue; // it left while its request ran
        Client& client = *found->second;
        {
            std::lock_guard lock(mutex_);
            client.out += done.line;
            client.subscribed = client.subscribed || done.subscribe;
        }
        client.busy = false;
        dispatch(client);
    }
}

void ControlServer::writeTo(Client& client) {
    std::lock_guard lock(mutex_);
    if (client.out.empty())
        return;
    ssize_t n = ::send(client.fd.get(), client.out.data(), client.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
        client.out.erase(0, static_cast<std::size_t>(n));
        client.lastDrained = std::chrono::steady_clock::now();
    }
    else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        client.closed = true;
}

void ControlServer::serve() {
    using Clock = std::chrono::steady_clock;
    Clock::time_point acceptPausedUntil{};
    while (true) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_)
                return;
        }
        collectAnswers();
        const bool accepting = Clock::now() >= acceptPausedUntil;
        std::vector<pollfd> fds{{accepting ? listenFd_.get() : -1, POLLIN, 0}, {wake_.read.get(), POLLIN, 0}};
        std::vector<Client*> polled = clientsToPoll(fds);
        if (::poll(fds.data(), fds.size(), accepting ? 1000 : 100) < 0 && errno != EINTR) {
            log("control: poll failed: " + std::string(std::strerror(errno)));
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        if (fds[1].revents & POLLIN) {
            char drain[256];
            while (::read(wake_.read.get(), drain, sizeof drain) > 0) {
            }
        }
        if ((fds[0].revents & POLLIN) && !acceptWaitingClients())
            acceptPausedUntil = Clock::now() + std::chrono::milliseconds(200);
        for (std::size_t i = 0; i < polled.size(); ++i)
            serviceClient(*polled[i], fds[i + 2].revents);
        dropGoneClients();
    }
}

// Each client's descriptor, appended to `fds`: readable while it may send a request,
// writable while replies wait. Returns the clients in the same order.
std::vector<ControlServer::Client*> ControlServer::clientsToPoll(std::vector<pollfd>& fds) {
    std::vector<Client*> polled;
    std::lock_guard lock(mutex_);
    for (auto& [id, client] : clients_) {
        short events = 0;
        if (!client->busy && !client->inputEnded && client->out.size() < options_.readPauseOutput)
            events |= POLLIN;
        if (!client->out.empty())
            events |= POLLOUT;
        fds.push_back({client->fd.get(), events, 0});
        polled.push_back(client.get());
    }
    return polled;
}

// False when accepting must pause: out of descriptors (one waiting client is told why) or
// another accept failure.
bool ControlServer::acceptWaitingClients() {
    int error = acceptClients();
    if (error == 0)
        return true;
    if (error == EMFILE || error == ENFILE) {
        refuseOneWithTheSpareDescriptor();
        logRateLimited("control: out of file descriptors; accepting paused for 200 ms");
    } else {
        log("control: accept failed: " + std::string(std::strerror(error)));
    }
    return false;
}

void ControlServer::serviceClient(Client& client, short events) {
    if (events & (POLLERR | POLLHUP)) {
        client.closed = true; // both directions are gone: nobody reads an answer
        return;
    }
    if (events & POLLIN) {
        readFrom(client);
        dispatch(client);
    }
    if (events & POLLOUT) {
        writeTo(client);
        dispatch(client); // requests held back while its replies were unread
    }
}

// Closes clients that are done, gone, too far behind on events, or not reading replies.
void ControlServer::dropGoneClients() {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = clients_.begin(); it != clients_.end();) {
        Client& client = *it->second;
        bool finished = client.inputEnded && !client.busy && client.out.empty() &&
                        client.in.find('\n') == std::string::npos;
        if (client.out.empty())
            client.lastDrained = now;
        bool stalled = std::chrono::duration<double>(now - client.lastDrained).count() >
                       options_.stalledClientSeconds;
        if (client.overflowed || stalled)
            logRateLimited("control: " + client.peer.label() + " disconnected: " +
                           (client.overflowed ? "it fell " + std::to_string(options_.maxPendingOutput >> 20) +
                                                    " MiB behind on events"
                                              : "it read none of its replies for " +
                                                    std::to_string(static_cast<int>(options_.stalledClientSeconds)) +
                                                    " s"));
        if (client.closed || client.overflowed || stalled || finished) {
            it = clients_.erase(it); // closes its descriptor
        } else {
            ++it;
        }
    }
}

} // namespace sc
