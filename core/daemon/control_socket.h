#pragma once
// The daemon's local control socket: JSON lines over a Unix stream socket. Only
// root, the daemon's own user and members of the operators' group may connect
// (checked by the peer's credentials, not by file modes alone). No client can
// starve the others: each has one request in flight and a bounded output queue,
// slow requests run on a small pool while cheap ones (status) are answered at
// once, clients are capped per user and in total, and accept backs off when the
// process runs out of descriptors.
#include "core/base/file_io.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <string>
#include <thread>
#include <vector>

#include "core/daemon/control_access.h"

namespace sc {

struct ControlServerOptions {
    std::string group = "streamchain";       // operators; the socket file belongs to it
    std::size_t maxClients = 256;            // connections of group members, together
    std::size_t maxClientsPerUser = 64;      // so one operator cannot take every slot
    std::size_t privilegedReserve = 16;      // further slots only root can use
    std::size_t maxPendingOutput = 4u << 20; // a client this far behind is disconnected
    std::size_t readPauseOutput = 256u << 10; // above this, its next request waits (backpressure)
    double stalledClientSeconds = 30;         // unread output that long without progress: disconnected
    unsigned requestThreads = 2;
    std::function<void(const std::string&)> log; // one line per refusal or trouble
};

class ControlServer {
public:
    // Handles one request; returns the reply. A reply with "subscribe": true turns the
    // connection into an event stream (broadcast() lines from then on).
    using Handler = std::function<nlohmann::json(const nlohmann::json& request, const ControlPeer& peer)>;
    // True for requests cheap enough to answer on the socket's own thread (status).
    using RunsInline = std::function<bool(const nlohmann::json& request)>;

    ControlServer(std::string socketPath, Handler handler, RunsInline runsInline, ControlServerOptions options = {});
    ~ControlServer(); // stop(), closes every client, removes the socket file
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // No handler runs once this returns (requests in flight finish first); the socket
    // stops accepting. Call it before tearing down what the handler uses.
    void stop();
    void broadcast(const nlohmann::json& event); // to every subscriber; one too far behind is dropped
    const std::string& path() const { return path_; }

private:
    struct Client;
    struct Task {
        std::uint64_t client;
        nlohmann::json request;
        ControlPeer peer;
    };
    struct Answer {
        std::uint64_t client;
        std::string line;
        bool subscribe = false;
    };

    void serve(); // the socket thread's loop: poll, accept, read, dispatch, write, drop
    std::vector<Client*> clientsToPoll(std::vector<pollfd>& fds);
    bool acceptWaitingClients();
    void serviceClient(Client& client, short events);
    void dropGoneClients();
    int acceptClients();
    void refuseOneWithTheSpareDescriptor();
    void admit(FileDescriptor fd);
    void readFrom(Client& client);
    void dispatch(Client& client);
    void writeTo(Client& client);
    void collectAnswers();
    Answer answer(std::uint64_t client, const nlohmann::json& request, const ControlPeer& peer);
    void runRequests();
    void log(const std::string& line);
    void logRateLimited(const std::string& line);

    std::string path_;
    Handler handler_;
    RunsInline runsInline_;
    ControlServerOptions options_;
    gid_t group_;
    FileDescriptor listenFd_, spareFd_;
    Pipe wake_; // written to end the socket thread's poll

    std::mutex mutex_; // guards clients' output, the task queue, answers and stopping_
    std::condition_variable taskReady_;
    std::map<std::uint64_t, std::unique_ptr<Client>> clients_; // added and removed by serve() only
    std::deque<Task> tasks_;
    std::vector<Answer> answers_;
    std::uint64_t nextClient_ = 1;
    bool stopping_ = false;
    std::thread thread_;
    std::vector<std::thread> requestThreads_;

    std::mutex logMutex_;
    long limitedSecond_ = 0; // logRateLimited(): the second being counted, its lines, the ones dropped
    unsigned limitedThisSecond_ = 0, limitedSuppressed_ = 0;
};

} // namespace sc
