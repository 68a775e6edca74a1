// Randomized requests from an operator against the real daemon, judged by the
// privilege model written from scratch here (paths resolved with realpath/lstat,
// not the daemon's code): every reply must be refused exactly when and with the
// rule the model says, and at the end nothing was created outside the local root,
// nothing of the other chain came back, and the daemon still answers at once.
// Clients also pipeline without reading, send garbage, oversized lines, and hang up.
// STREAMCHAIN_FUZZ_SEED=S replays a run; STREAMCHAIN_FUZZ_SECONDS=N soaks longer.
#include "core/daemon/control_client.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/daemon_process.h"
#include "tests/support/operator_lab.h"
#include "tests/support/socket_lines.h"

#include <QTest>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace sctest;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::uint64_t envNumber(const char* name, std::uint64_t fallback) {
    const char* text = std::getenv(name);
    return text ? std::strtoull(text, nullptr, 10) : fallback;
}

std::string real(const std::string& path) {
    char buffer[PATH_MAX];
    return ::realpath(path.c_str(), buffer) ? std::string(buffer) : std::string();
}

// The longest existing prefix resolved, the rest normalized by its text.
std::string resolvedAsFarAsItExists(const std::string& path) {
    fs::path whole = fs::path(path).lexically_normal();
    fs::path prefix = whole, rest;
    while (!prefix.empty() && real(prefix.string()).empty()) {
        rest = prefix.filename() / rest;
        prefix = prefix.parent_path();
        if (prefix == prefix.root_path() && real(prefix.string()).empty())
            break;
    }
    fs::path resolved = fs::path(real(prefix.string())) / rest;
    std::string text = resolved.lexically_normal().string();
    while (text.size() > 1 && text.back() == '/')
        text.pop_back();
    return text;
}

bool isLink(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

bool validName(const std::string& name) {
    return !name.empty() && name.size() <= 64 && name[0] != '-' && name[0] != '.' &&
           name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
               std::string::npos;
}

// What the written model (docs/control-protocol.md) says of a request from an
// operator: the rule that refuses it, or "" when it is not the model's to refuse.
struct Model {
    std::string served, localRoot, keys;

    std::string chainRule(const nlohmann::json& r) const {
        if (!r.contains("chain"))
            return "";
        return resolvedAsFarAsItExists(r["chain"].get<std::string>()) == real(served) ? "" : "served-chains";
    }
    std::string targetRule(const std::string& target) const {
        if (target.rfind("ssh://", 0) == 0)
            return "registered-targets";
        std::string path = target.rfind("local:", 0) == 0 ? target.substr(6) : target;
        fs::path normal = fs::path(path).lexically_normal();
        std::string text = normal.string();
        while (text.size() > 1 && text.back() == '/')
            text.pop_back();
        fs::path p(text);
        bool oneBelowRoot = resolvedAsFarAsItExists(p.parent_path().string()) == real(localRoot);
        return oneBelowRoot && !isLink(text) && validName(p.filename().string()) ? "" : "local-roots";
    }
    std::string identityRule(const std::string& identity) const {
        std::string candidate = identity.empty() ? keys + "/default"
                                : identity.find('/') == std::string::npos ? keys + "/" + identity
                                                                          : identity;
        std::string resolved = resolvedAsFarAsItExists(candidate);
        std::string dir = real(keys);
        struct stat st {};
        bool inside = resolved.size() > dir.size() && resolved.compare(0, dir.size() + 1, dir + "/") == 0;
        bool rootsFile = ::lstat(resolved.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0;
        return inside && rootsFile ? "" : "key-directory";
    }
    std::string expectedRule(const nlohmann::json& r) const {
        const std::string op = r.value("op", "");
        if (op == "status" || (op == "cancel" && r.contains("job")))
            return "";
        static const std::set<std::string> withChain = {"commit", "sync", "cancel", "verify", "replica-add",
                                                         "stream", "log", "show", "replica-remove"};
        if (!withChain.count(op))
            return "";
        if (std::string rule = chainRule(r); !rule.empty())
            return rule;
        if (op == "verify")
            return targetRule(r.value("replica", ""));
        if (op == "stream") {
            for (const auto& target : r["targets"])
                if (std::string rule = targetRule(target.get<std::string>()); !rule.empty())
                    return rule;
            return "";
        }
        if (op == "replica-add") {
            if (!r.value("agent_path", "").empty())
                return "root-only";
            std::string url = r.value("url", "");
            if (url.rfind("ssh://", 0) != 0)
                return targetRule(url);
            return r.value("via", "").empty() ? identityRule(r.value("identity", "")) : "";
        }
        return "";
    }
};

struct Client {
    int fd = -1;
    std::string buffer;
    std::vector<nlohmann::json> awaiting; // requests whose replies are due, in order
};

} // namespace

class TestControlFuzz : public QObject {
    Q_OBJECT
private slots:
    void randomRequestsGetExactlyWhatTheModelAllows() {
        const std::uint64_t seed = envNumber("STREAMCHAIN_FUZZ_SEED", 20261202);
        const double seconds = static_cast<double>(envNumber("STREAMCHAIN_FUZZ_SECONDS", 12));
        qInfo("seed %llu for %.0f s (replay: STREAMCHAIN_FUZZ_SEED=%llu)", static_cast<unsigned long long>(seed),
              seconds, static_cast<unsigned long long>(seed));
        std::mt19937_64 random(seed);
        auto pick = [&](const std::vector<std::string>& options) {
            return options[std::uniform_int_distribution<std::size_t>(0, options.size() - 1)(random)];
        };
        auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(random) < p; };

        OperatorLab lab;
        const OperatorAccount& op = lab.op;
        ChainFixture &chain = lab.chain, &secret = lab.secret;
        const std::string &socket = lab.socket, &keys = lab.keys, &rootKey = lab.rootKey, &localRoot = lab.localRoot;
        const std::string outside = rootOwnedDir(chain.image().path("outside"));
        fs::create_symlink(rootKey, keys + "/sneaky");
        fs::create_symlink(outside, localRoot + "/escape");
        fs::create_symlink(secret.root(), lab.run.path() + "/secret-link");
        fs::create_symlink(chain.root(), lab.run.path() + "/served-link");
        lab.startDaemon();
        DaemonProcess& daemon = *lab.daemon;
        const Model model{chain.root(), localRoot, keys};

        const std::vector<std::string> chains = {
            chain.root(), chain.root() + "/", lab.run.path() + "/served-link", "/nonexistent/../" + chain.root(),
            chain.root() + "/../ledger", secret.root(), lab.run.path() + "/secret-link", secret.root() + "/../ledger",
            "/nonexistent", chain.root() + "/data", "ledger"};
        const std::vector<std::string> targets = {
            localRoot + "/a", "local:" + localRoot + "/b", localRoot + "/c/", localRoot + "/x/../a",
            localRoot, localRoot + "/a/blocks", localRoot + "/escape", localRoot + "/escape/x",
            localRoot + "/../outside/y", outside + "/z", "ssh://root@127.0.0.1:9/srv/x", localRoot + "/bad name",
            "r1"};
        const std::vector<std::string> identities = {"replicas", keys + "/replicas", "replicas.pub", rootKey,
                                                     keys + "/../root_only_key", "sneaky", "missing", "", keys,
                                                     "/etc/shadow"};
        auto request = [&]() -> nlohmann::json {
            const std::string opName = pick({"log", "show", "commit", "sync", "cancel", "verify", "stream",
                                             "replica-add", "replica-add", "replica-remove", "status", "bogus"});
            nlohmann::json r = {{"op", opName}};
            if (chance(0.8))
                r["chain"] = pick(chains);
            if (opName == "show")
                r["height"] = std::uniform_int_distribution<int>(0, 3)(random);
            if (opName == "commit")
                r["message"] = "fuzz";
            if (opName == "cancel" && chance(0.3))
                r["job"] = std::uniform_int_distribution<int>(1, 50)(random);
            if (opName == "verify")
                r["replica"] = pick(targets);
            if (opName == "stream") {
                r["targets"] = nlohmann::json::array();
                for (int i = std::uniform_int_distribution<int>(1, 3)(random); i > 0; --i)
                    r["targets"].push_back(pick(targets));
            }
            if (opName == "replica-add") {
                r["name"] = "f" + std::to_string(random() % 4);
                r["url"] = chance(0.75) ? std::string("ssh://root@127.0.0.1:9/srv/x") : pick(targets);
                if (chance(0.85))
                    r["identity"] = pick(identities);
                if (chance(0.1))
                    r["agent_path"] = "/bin/sh";
                if (chance(0.1))
                    r["via"] = "r1";
            }
            if (opName == "replica-remove")
                r["name"] = "f1";
            return r;
        };

        std::vector<Client> clients(4);
        auto connectAsOperator = [&](Client& client) {
            OperatorAccount::Impersonation asOperator(op);
            client = Client{};
            client.fd = connectToSocket(socket);
        };
        for (auto& client : clients)
            connectAsOperator(client);
        std::vector<int> nonReaders; // pipeline and never read a reply
        for (int i = 0; i < 2; ++i) {
            OperatorAccount::Impersonation asOperator(op);
            nonReaders.push_back(connectToSocket(socket));
        }

        std::map<std::string, int> outcomes;
        auto judge = [&](Client& client) {
            for (const auto& sent : client.awaiting) {
                std::string line = readLine(client.fd, client.buffer, 20);
                QVERIFY2(!line.empty(), ("no reply to " + sent.dump() + " (seed " + std::to_string(seed) + ")").c_str());
                auto reply = nlohmann::json::parse(line, nullptr, false);
                QVERIFY2(reply.is_object(), line.c_str());
                const std::string expected = model.expectedRule(sent), got = reply.value("refused", "");
                const bool jobLimit = got == "max-jobs" && expected.empty();
                QVERIFY2(got == expected || jobLimit,
                         ("seed " + std::to_string(seed) + ": " + sent.dump() + " expected refusal \"" + expected +
                          "\", got " + reply.dump()).c_str());
                QVERIFY2(!(contains(line, "secret-message") || contains(line, "plans.txt")), line.c_str());
                ++outcomes[got.empty() ? (reply.value("ok", false) ? "ok" : "error") : got];
            }
            client.awaiting.clear();
        };

        auto start = Clock::now();
        int requests = 0;
        while (Clock::now() - start < std::chrono::duration<double>(seconds)) {
            Client& client = clients[random() % clients.size()];
            const double action = std::uniform_real_distribution<double>(0, 1)(random);
            if (action < 0.80) { // a few pipelined requests, then their replies
                std::string lines;
                for (int i = std::uniform_int_distribution<int>(1, 4)(random); i > 0; --i) {
                    client.awaiting.push_back(request());
                    lines += client.awaiting.back().dump() + "\n";
                }
                [[maybe_unused]] auto n = ::send(client.fd, lines.data(), lines.size(), MSG_NOSIGNAL);
                requests += static_cast<int>(client.awaiting.size());
                judge(client);
            } else if (action < 0.88) { // not JSON, or not an object
                std::string line = pick({"garbage", "[1,2]", "{\"op\":", "\"status\"", "{\"op\":\"log\",\"chain\":7}"});
                line += "\n";
                [[maybe_unused]] auto n = ::send(client.fd, line.data(), line.size(), MSG_NOSIGNAL);
                std::string reply = readLine(client.fd, client.buffer, 10);
                QVERIFY2(contains(reply, "\"ok\":false"), (line + " -> " + reply).c_str());
            } else if (action < 0.93) { // the non-readers keep asking
                std::string lines;
                for (int i = 0; i < 20; ++i)
                    lines += request().dump() + "\n";
                for (int fd : nonReaders)
                    [[maybe_unused]] auto n = ::send(fd, lines.data(), lines.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            } else if (action < 0.97) { // hang up mid-request and come back
                std::string half = request().dump();
                half.resize(half.size() / 2);
                [[maybe_unused]] auto n = ::send(client.fd, half.data(), half.size(), MSG_NOSIGNAL);
                ::close(client.fd);
                connectAsOperator(client);
            } else { // a line longer than the daemon takes
                std::string huge(1100u << 10, 'x');
                [[maybe_unused]] auto n = ::send(client.fd, huge.data(), huge.size(), MSG_NOSIGNAL);
                std::string reply = readLine(client.fd, client.buffer, 10);
                QVERIFY2(contains(reply, "refused (request-size)"), reply.c_str());
                ::close(client.fd);
                connectAsOperator(client);
            }
            if (QTest::currentTestFailed())
                return;
            auto asked = Clock::now();
            QVERIFY(sc::controlRequest(socket, {{"op", "status"}}, 2000)["ok"] == true);
            QVERIFY2(Clock::now() - asked < std::chrono::seconds(2), "status took 2 s or more");
        }
        std::string summary;
        for (const auto& [outcome, count] : outcomes)
            summary += " " + outcome + "=" + std::to_string(count);
        qInfo("%d requests:%s", requests, summary.c_str());
        for (const char* rule : {"served-chains", "local-roots", "registered-targets", "key-directory", "root-only"})
            QVERIFY2(outcomes[rule] > 0, rule); // the run reached every rule
        QVERIFY(outcomes["ok"] > 0);

        for (auto& client : clients)
            ::close(client.fd);
        for (int fd : nonReaders)
            ::close(fd);
        // Nothing landed outside the root, nothing happened to the other chain, no replica was registered.
        QVERIFY2(namesIn(outside).empty(), ("created outside the root: " + outside).c_str());
        for (const auto& name : namesIn(localRoot))
            QVERIFY2(name == "a" || name == "b" || name == "c" || name == "escape", name.c_str());
        QCOMPARE(secret.blockNames().size(), std::size_t{2});
        QVERIFY(!fs::exists(chain.root() + "/.streamchain/replicas.json") ||
                !contains(readFile(chain.root() + "/.streamchain/replicas.json"), "\"f"));
        QCOMPARE(daemon.stop(), 0);
    }
};

STREAMCHAIN_SYSTEM_TEST_MAIN(TestControlFuzz)
#include "test_control_fuzz.moc"
