#include "tests/support/hostile_fixture.h"

#include "core/agent/agent_protocol.h"
#include "core/btrfs/subvolumes.h"
#include "core/ledger/block_header.h"
#include "core/ledger/chain.h"
#include "core/ledger/chain_identity.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sctest {

namespace {

std::string sendToString(const std::vector<std::string>& args) {
    TempDir dir("send");
    std::string file = dir.path() + "/stream";
    std::vector<std::string> argv{"btrfs", "send", "-q", "--proto", "2", "-f", file};
    argv.insert(argv.end(), args.begin(), args.end());
    mustRun(argv);
    return readFile(file);
}

void makeFile(const std::string& path, const std::string& contents, unsigned mode = 0644) {
    writeFile(path, contents);
    ::chmod(path.c_str(), mode);
}

} // namespace

HostilePrimary::HostilePrimary() : chain_(512, "ledger") {
    fs::create_directories(chain_.data("dir/sub"));
    std::string page;
    for (int line = 0; page.size() < 8192; ++line)
        page += "original line " + std::to_string(line) + " of dir/f, covered by the footprint\n";
    page.resize(8192); // a whole page: cloning 8 KiB over it is aligned
    makeFile(chain_.data("dir/f"), page);
    makeFile(chain_.data("dir/sub/deep.txt"), "deep\n");
    fs::create_directories(chain_.data("secret"));
    makeFile(chain_.data("secret/only-root.key"), mustRun({"head", "-c", "4096", "/dev/urandom"}), 0600);
    makeFile(chain_.data("log.txt"), "log line 1\n");
    makeFile(chain_.data("top.txt"), "top v1\n");
    chain_.commit("files in directories, a 0600 file");
    writeFile(chain_.data("log.txt"), "log line 1\nlog line 2\n");
    fs::create_directories(chain_.data("notes"));
    makeFile(chain_.data("notes/n1"), "note\n");
    chain_.commit("a note");
    makeFile(chain_.data("top.txt"), "top v2\n");
    chain_.commit("top changed");
    writeFile(chain_.data("log.txt"), "log line 1\nlog line 2\nlog line 3\n");
    fs::create_directories(chain_.data("new"));
    makeFile(chain_.data("new/file.txt"), "added in the target block\n");
    chain_.commit("the target block");

    chainWire_ = sc::chainToWire(sc::ChainIdentity::load(chain_.root() + "/.streamchain/chain.json"));
    incremental_ = sendToString({"-p", blockPath(kBase), blockPath(kTarget)});
    full_ = sendToString({blockPath(kTarget)});
}

nlohmann::json HostilePrimary::announcement() const {
    std::string header = readFile(blockPath(kTarget) + "/" + sc::kHeaderFile);
    return {{"height", kTarget},
            {"uuid", sc::btrfs::uuidString(sc::btrfs::subvolumeInfo(blockPath(kTarget)).uuid)},
            {"header", nlohmann::json::parse(header)},
            {"parent", kBase}};
}

std::string HostilePrimary::honestWith(const SendStreamWriter& extra, Insert where) const {
    SplitSendStream split = honestCommands();
    std::vector<RawSendCommand> added = splitSendStream(extra.bytes()).commands;
    std::size_t at = where == Insert::AfterSnapshot ? 1 : split.indexOf(SendCmd::End);
    split.commands.insert(split.commands.begin() + static_cast<std::ptrdiff_t>(at), added.begin(),
                          added.end());
    return split.encode();
}

SendUuid HostilePrimary::blockUuid(std::uint64_t height) const {
    return sc::btrfs::subvolumeInfo(blockPath(height)).uuid;
}

std::string HostilePrimary::replicate(BtrfsImage& disk, const std::string& name) {
    std::string root = disk.path(name);
    CommandResult send =
        boundedCli({"send", chain_.root(), "--to", "local:" + root, "--upto", std::to_string(kBase)});
    if (send.exitCode != 0)
        throw std::runtime_error("replicating blocks 0.." + std::to_string(kBase) + " failed: " + send.err);
    return root;
}

std::string ReceiveOutcome::describe() const {
    if (!problem.empty())
        return problem;
    if (!answered)
        return "no answer";
    if (!refusal.empty())
        return "refused: " + refusal;
    std::string heights;
    for (auto height : published)
        heights += (heights.empty() ? "" : ",") + std::to_string(height);
    return "accepted, published [" + heights + "]";
}

void helloAndPrepare(AgentSession& session, const nlohmann::json& chain) {
    session.hello(chain);
    session.expect('H', "the hello");
    session.request({{"op", "prepare"}});
    session.expect('R', "prepare");
}

void endSession(AgentSession& session) {
    try {
        if (session.alive())
            session.request({{"op", "bye"}});
    } catch (const std::exception&) {
        // it may have stopped reading: killed below
    }
    session.closeInput();
    if (!session.waitExit(5))
        session.kill();
}

ReceiveOutcome attemptReceive(const std::string& root, const ReceiveAttempt& attempt) {
    ReceiveOutcome outcome;
    AgentSession session(root);
    auto takeAnswer = [&](const AgentFrame& frame) {
        outcome.answered = true;
        nlohmann::json reply = frame.json();
        if (frame.type == 'X') {
            outcome.refusal = frame.error().empty() ? "(an X frame without a reason)" : frame.error();
            return;
        }
        if (frame.type == 'R' && reply.is_object() && reply.contains("published") &&
            reply["published"].is_array())
            for (const auto& height : reply["published"])
                if (height.is_number_unsigned())
                    outcome.published.push_back(height.get<std::uint64_t>());
        outcome.accepted = frame.type == 'R';
        if (frame.type != 'R')
            outcome.problem = "the agent answered with " + frame.describe();
    };
    try {
        helloAndPrepare(session, attempt.chain);
        nlohmann::json request = {{"op", "receive"}, {"blocks", attempt.blocks}, {"compressed", false}};
        if (attempt.extraRequest.is_object())
            request.update(attempt.extraRequest);
        session.request(request);
        std::optional<AgentFrame> ready = session.read("the receive request", attempt.timeout);
        if (!ready)
            throw std::runtime_error("the agent ended the session instead of answering the receive request");
        if (ready->type != 'R') {
            takeAnswer(*ready); // refused before any data
        } else {
            try {
                session.sendData(attempt.stream);
                if (attempt.end.is_null())
                    session.sendEnd(attempt.stream);
                else
                    session.sendJson('E', attempt.end);
            } catch (const std::exception& e) {
                // It stopped reading: whatever it said first is its answer.
                outcome.problem = std::string("while sending the stream: ") + e.what();
            }
            std::optional<AgentFrame> answer = session.read("the end of the stream", attempt.timeout);
            if (answer) {
                outcome.problem.clear();
                takeAnswer(*answer);
            } else if (outcome.problem.empty()) {
                outcome.problem = "the agent ended the session without answering the stream";
            }
        }
    } catch (const std::exception& e) {
        outcome.problem = e.what();
    }
    if (!outcome.problem.empty())
        outcome.problem += " [" + session.exitDescription() + "; agent stderr: " + session.errors() + "]";
    endSession(session);
    return outcome;
}

CommandResult boundedCli(const std::vector<std::string>& args, double seconds) {
    std::vector<std::string> argv{"timeout", "-s", "KILL", std::to_string(seconds), STREAMCHAIN_CLI};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult result = run(argv);
    if (result.exitCode == 128 + 9)
        result.err += "\n(streamchain " + args.front() + " did not finish within " + std::to_string(seconds) +
                      " s and was killed)";
    return result;
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string describePath(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        return path + ": absent";
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", st.st_mode);
    std::string text = path + ": mode " + mode + ", " + std::to_string(st.st_size) + " bytes";
    if (S_ISLNK(st.st_mode)) {
        std::error_code ec;
        text += " -> " + fs::read_symlink(path, ec).string();
    } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
        std::string head = readFile(path).substr(0, 40);
        for (char& c : head)
            if (!std::isprint(static_cast<unsigned char>(c)))
                c = '.';
        text += ": \"" + head + "\"";
    }
    return text;
}

} // namespace sctest
