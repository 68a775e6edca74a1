// The control socket's transport, in process against real Unix sockets: cheap
// requests are not held up by slow ones, a client that does not read is held
// back and then let go, clients are capped, a subscriber that falls behind is
// dropped, refusals carry their rule, and stop() waits for requests in flight.
#include "core/daemon/control_socket.h"
#include "tests/support/btrfs_fixture.h"
#include "tests/support/socket_lines.h"

#include <QTest>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace sctest;
using Clock = std::chrono::steady_clock;

namespace {

// True once the daemon has closed the connection (everything it sent is drained).
bool closedWithin(int fd, double seconds) {
    auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    char chunk[65536];
    while (Clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n == 0 || (n < 0 && errno == ECONNRESET))
                return true;
        }
    }
    return false;
}

struct Server {
    explicit Server(sc::ControlServerOptions options, std::function<nlohmann::json(const nlohmann::json&)> handle)
        : dir("control"), socket(dir.path() + "/control.sock"),
          server(socket, [handle](const nlohmann::json& request, const sc::ControlPeer&) { return handle(request); },
                 [](const nlohmann::json& request) { return request.value("op", "") == "status"; },
                 withLog(std::move(options), log)) {}
    static sc::ControlServerOptions withLog(sc::ControlServerOptions options, std::shared_ptr<std::vector<std::string>> log) {
        options.log = [log](const std::string& line) { log->push_back(line); };
        return options;
    }
    std::shared_ptr<std::vector<std::string>> log = std::make_shared<std::vector<std::string>>();
    TempDir dir;
    std::string socket;
    sc::ControlServer server;
};

nlohmann::json parsed(const std::string& line) { return nlohmann::json::parse(line, nullptr, false); }

} // namespace

class TestControlServer : public QObject {
    Q_OBJECT
private slots:
    void cheapRequestsAreNotHeldUpBySlowOnes() {
        sc::ControlServerOptions options;
        options.requestThreads = 1;
        Server s(options, [](const nlohmann::json& request) {
            if (request.value("op", "") == "slow")
                std::this_thread::sleep_for(std::chrono::milliseconds(1500));
            return nlohmann::json{{"ok", true}, {"op", request.value("op", "")}};
        });
        int slow = connectToSocket(s.socket), other = connectToSocket(s.socket);
        sendLine(slow, R"({"op":"slow"})");
        sendLine(slow, R"({"op":"status"})"); // this client's own requests keep their order
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto start = Clock::now();
        sendLine(other, R"({"op":"status"})");
        std::string otherBuffer, slowBuffer;
        QCOMPARE(parsed(readLine(other, otherBuffer))["op"].get<std::string>(), std::string("status"));
        QVERIFY(Clock::now() - start < std::chrono::milliseconds(500));
        QCOMPARE(parsed(readLine(slow, slowBuffer))["op"].get<std::string>(), std::string("slow"));
        QCOMPARE(parsed(readLine(slow, slowBuffer))["op"].get<std::string>(), std::string("status"));
        sendLine(other, "not json");
        QVERIFY(readLine(other, otherBuffer).find("not a JSON object") != std::string::npos);
        ::close(slow);
        ::close(other);
    }

    void aClientThatDoesNotReadIsHeldBackThenLetGo() {
        sc::ControlServerOptions options;
        options.readPauseOutput = 128u << 10;
        options.stalledClientSeconds = 1;
        std::atomic<int> handled{0};
        Server s(options, [&](const nlohmann::json&) {
            ++handled;
            return nlohmann::json{{"ok", true}, {"blob", std::string(64u << 10, 'x')}};
        });
        int flood = connectToSocket(s.socket);
        int sent = 0;
        for (; sent < 2000; ++sent) { // pipelined, never read
            std::string line = R"({"op":"log"})" "\n";
            if (::send(flood, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT) <= 0)
                break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        // Only what fits in the socket buffers and the pause mark was answered.
        QVERIFY2(handled < 40, std::to_string(handled).c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(1500)); // still reading nothing: past the stall limit
        QVERIFY(closedWithin(flood, 5));
        QVERIFY2(!s.log->empty() && s.log->back().find("read none of its replies") != std::string::npos,
                 s.log->empty() ? "no log" : s.log->back().c_str());
        ::close(flood);
        // Everyone else is still served.
        int other = connectToSocket(s.socket);
        std::string buffer;
        sendLine(other, R"({"op":"status"})");
        QVERIFY(parsed(readLine(other, buffer))["ok"] == true);
        ::close(other);
    }

    void clientsAreCapped() {
        sc::ControlServerOptions options;
        options.maxClients = 3;
        options.privilegedReserve = 0; // this test runs as root
        Server s(options, [](const nlohmann::json&) { return nlohmann::json{{"ok", true}}; });
        std::vector<int> held;
        for (int i = 0; i < 3; ++i) {
            held.push_back(connectToSocket(s.socket));
            std::string buffer;
            sendLine(held.back(), R"({"op":"status"})");
            QVERIFY(parsed(readLine(held.back(), buffer))["ok"] == true);
        }
        int extra = connectToSocket(s.socket);
        std::string buffer;
        auto refusal = parsed(readLine(extra, buffer));
        QVERIFY2(refusal["refused"] == "max-clients", refusal.dump().c_str());
        QVERIFY(closedWithin(extra, 2));
        ::close(extra);
        ::close(held.back());
        held.pop_back();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        int again = connectToSocket(s.socket);
        sendLine(again, R"({"op":"status"})");
        QVERIFY(parsed(readLine(again, buffer))["ok"] == true);
        held.push_back(again);
        for (int fd : held)
            ::close(fd);
    }

    void aSubscriberThatFallsBehindIsDropped() {
        sc::ControlServerOptions options;
        options.maxPendingOutput = 256u << 10;
        Server s(options, [](const nlohmann::json&) { return nlohmann::json{{"ok", true}, {"subscribe", true}}; });
        int subscriber = connectToSocket(s.socket), reader = connectToSocket(s.socket);
        std::string buffer, readerBuffer;
        sendLine(subscriber, R"({"op":"subscribe"})");
        sendLine(reader, R"({"op":"subscribe"})");
        QVERIFY(parsed(readLine(subscriber, buffer))["subscribe"] == true);
        QVERIFY(parsed(readLine(reader, readerBuffer))["subscribe"] == true);
        constexpr int kEvents = 1000; // about 1 MiB: more than the socket buffer and the cap together
        std::atomic<int> received{0};
        std::thread keepsUp([&] {
            while (received < kEvents && !readLine(reader, readerBuffer, 5).empty())
                ++received;
        });
        for (int i = 0; i < kEvents; ++i) {
            s.server.broadcast({{"event", "block"}, {"n", i}, {"pad", std::string(1024, 'p')}});
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        keepsUp.join();
        QCOMPARE(received.load(), kEvents);
        QVERIFY(closedWithin(subscriber, 5));
        QVERIFY(!s.log->empty() && s.log->back().find("behind on events") != std::string::npos);
        ::close(subscriber);
        ::close(reader);
    }

    void refusalsCarryTheirRuleAndAreLogged() {
        Server s({}, [](const nlohmann::json&) -> nlohmann::json {
            throw sc::RequestRefused("some-rule", "not for you");
        });
        int fd = connectToSocket(s.socket);
        std::string buffer;
        sendLine(fd, R"({"op":"log"})");
        auto reply = parsed(readLine(fd, buffer));
        QVERIFY(reply["ok"] == false);
        QCOMPARE(reply["refused"].get<std::string>(), std::string("some-rule"));
        QCOMPARE(reply["error"].get<std::string>(), std::string("refused (some-rule): not for you"));
        ::close(fd);
        QVERIFY(!s.log->empty() && s.log->back().find("log: refused (some-rule)") != std::string::npos);
    }

    void stopWaitsForRequestsInFlightAndRemovesTheSocket() {
        std::atomic<int> started{0}, finished{0};
        Server s({}, [&](const nlohmann::json&) {
            ++started;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            ++finished;
            return nlohmann::json{{"ok", true}};
        });
        int a = connectToSocket(s.socket), b = connectToSocket(s.socket);
        sendLine(a, R"({"op":"log"})");
        sendLine(b, R"({"op":"log"})");
        QTRY_VERIFY_WITH_TIMEOUT(started == 2, 2000);
        s.server.stop();
        QCOMPARE(finished.load(), 2);
        QVERIFY(!std::filesystem::exists(s.socket));
        sendLine(a, R"({"op":"log"})");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        QCOMPARE(started.load(), 2);
        s.server.stop(); // twice is fine
        ::close(a);
        ::close(b);
    }
};

QTEST_APPLESS_MAIN(TestControlServer)
#include "test_control_server.moc"
