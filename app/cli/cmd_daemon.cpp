#include "app/cli/commands.h"
#include "app/cli/output.h"
#include "core/base/error.h"
#include "core/daemon/control_client.h"
#include "core/daemon/control_service.h"
#include "core/daemon/control_socket.h"
#include "core/daemon/metrics.h"
#include "core/ledger/block_header.h"
#include "core/messages/wire_names.h"
#include "core/stream/transfer_meter.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace cli {

namespace {

namespace wire = sc::wire;

std::atomic<bool> stopRequested{false};
void onStop(int) { stopRequested = true; }

void printStatus(const nlohmann::json& status) {
    for (const auto& chain : status[wire::kChains]) {
        std::printf("%s (%s): tip %s\n", chain[wire::kName].get<std::string>().c_str(),
                    chain[wire::kPath].get<std::string>().c_str(), chain[wire::kTip].dump().c_str());
        if (chain[wire::kReplicas].empty())
            std::printf("  no replicas registered\n");
        for (const auto& r : chain[wire::kReplicas]) {
            std::string via = r.value(wire::kVia, std::string());
            std::string line = "  " + r[wire::kName].get<std::string>() +
                               (via.empty() ? "" : " (via " + via + ")") + "  " +
                               r[wire::kPhase].get<std::string>() + "  height " + r[wire::kHeight].dump() +
                               "  behind " + std::to_string(r[wire::kBlocksBehind].get<std::uint64_t>()) +
                               " (" + sc::formatDuration(r[wire::kLagSeconds].get<double>()) + ")";
            if (!r[wire::kLastError].get<std::string>().empty() && r[wire::kPhase] != wire::kPhaseInSync)
                line += "  last error: " + r[wire::kLastError].get<std::string>();
            std::printf("%s\n", line.c_str());
        }
    }
}

// Live status for a terminal (redrawn in place) or a log (one block of lines per update).
int watchStatus(const std::string& socket, double every, bool json) {
    std::signal(SIGINT, onStop);
    std::signal(SIGTERM, onStop);
    const bool terminal = ::isatty(STDOUT_FILENO) != 0;
    while (!stopRequested) {
        std::string when = sc::utcTimestampNow();
        try {
            nlohmann::json reply = sc::controlRequest(socket, {{wire::kOp, wire::kOpStatus}});
            if (json) {
                printJson(reply);
            } else {
                std::printf(terminal ? "\033[H\033[J%s\n" : "--- %s\n", when.c_str());
                printStatus(reply);
            }
        } catch (const sc::Error& e) {
            std::printf("%s %s\n", when.c_str(), e.what());
        }
        std::fflush(stdout);
        for (int i = 0; i < static_cast<int>(every * 10) && !stopRequested; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
}

// Clients, kept-open replica connections and the send pipes all need descriptors; a
// soft limit of 1024 is the first thing a busy socket would run into.
void raiseDescriptorLimit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

void logLine(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

} // namespace

void addDaemonCommands(CLI::App& app, Handler& run) {
    struct Options {
        std::vector<std::string> chains;
        std::string socket = sc::defaultControlSocket();
        double maxBackoff = 60;
        sc::AccessPolicy access;
        sc::ControlServerOptions control;
        int metricsPort = -1;
        bool json = false, watch = false;
        double every = 1;
    };
    auto options = std::make_shared<Options>();
    auto* daemonCmd = app.add_subcommand(
        "daemon", "Keep every registered replica of the chains up to date, unattended: new blocks stream within\n"
                  "moments (inotify), failed replicas are retried with capped exponential backoff over kept-open\n"
                  "connections. Serves status, events and commands on a control socket (root and group\n"
                  "streamchain only). Runs until SIGTERM or SIGINT; logs one line per event to stderr.");
    daemonCmd->add_option("CHAIN", options->chains, "The chain directories")->required();
    daemonCmd->add_option("--socket", options->socket, "Control socket path");
    daemonCmd->add_option("--group", options->control.group,
                          "Operators: members may use the control socket within the privilege model "
                          "(docs/control-protocol.md)")
        ->capture_default_str();
    daemonCmd->add_option("--key-dir", options->access.keyDirectory,
                          "Directory of SSH keys operators may onboard replicas with (root-owned, not writable "
                          "by others); a key is named by its file name")
        ->capture_default_str();
    daemonCmd->add_option("--local-root", options->access.localRoots,
                          "Directory under which operators may create local replicas (repeatable; root-owned, "
                          "not writable by others); none by default");
    daemonCmd->add_option("--max-clients", options->control.maxClients,
                          "Control connections of group members at once (root has 16 more)")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
    daemonCmd->add_option("--max-backoff", options->maxBackoff, "Longest wait between retries of a failing replica, s");
    daemonCmd->add_option("--metrics-port", options->metricsPort,
                          "Serve Prometheus metrics on http://127.0.0.1:PORT/metrics (loopback only; off by default)")
        ->check(CLI::Range(0, 65535));
    daemonCmd->callback([&run, options] {
        run = [options] {
            std::signal(SIGTERM, onStop);
            std::signal(SIGINT, onStop);
            std::signal(SIGPIPE, SIG_IGN);
            raiseDescriptorLimit();
            std::unique_ptr<sc::ControlServer> server;
            sc::DaemonOptions daemonOptions;
            daemonOptions.maxBackoffSeconds = options->maxBackoff;
            auto onEvent = [&](const nlohmann::json& event) {
                logLine(event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
                if (server)
                    server->broadcast(event);
            };
            sc::AccessPolicy access = options->access;
            access.servedChains = options->chains;
            sc::ControlService service(access, daemonOptions, onEvent);
            sc::ControlServerOptions control = options->control;
            control.log = logLine;
            server = std::make_unique<sc::ControlServer>(
                options->socket,
                [&service](const nlohmann::json& request, const sc::ControlPeer& peer) {
                    return service.handle(request, peer);
                },
                &sc::ControlService::answersAtOnce, control);
            std::fprintf(stderr, "streamchain daemon: serving %zu chain(s) on %s\n", options->chains.size(),
                         options->socket.c_str());
            std::unique_ptr<sc::MetricsServer> metrics;
            if (options->metricsPort >= 0) {
                metrics = std::make_unique<sc::MetricsServer>(options->metricsPort, [&service] {
                    return sc::prometheusText(
                        service.handle({{wire::kOp, wire::kOpStatus}}, sc::ControlPeer{0, 0, 0, true}));
                });
                std::fprintf(stderr, "streamchain daemon: metrics on http://127.0.0.1:%d/metrics\n", metrics->port());
            }
            while (!stopRequested)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            std::fprintf(stderr, "streamchain daemon: stopping\n");
            // No request may reach the service once it starts tearing down; the server
            // object stays until after it, since the service's threads still publish events.
            metrics.reset();
            server->stop();
            return 0;
        };
    });

    auto* status = app.add_subcommand("status", "Ask the running daemon how every chain and replica is doing");
    status->add_option("--socket", options->socket, "Control socket path");
    status->add_flag("--json", options->json, "The daemon's status as JSON");
    status->add_flag("--watch", options->watch, "Keep printing the status until interrupted (waits for a daemon)");
    status->add_option("--every", options->every, "Seconds between updates with --watch")->check(CLI::Range(0.1, 3600.0));
    status->callback([&run, options] {
        run = [options] {
            if (options->watch)
                return watchStatus(options->socket, options->every, options->json);
            nlohmann::json reply = sc::controlRequest(options->socket, {{wire::kOp, wire::kOpStatus}});
            if (options->json)
                printJson(reply);
            else
                printStatus(reply);
            return 0;
        };
    });
}

} // namespace cli
