#pragma once
// The world of the hostile-sender suite: a primary chain with real content whose
// next block (the "target") a replica lacks, the honest incremental stream for it,
// and one bounded attempt to make a replica's agent take a stream for that block.
#include "tests/support/agent_session.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/send_stream_writer.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sctest {

// Where crafted commands go into the honest stream: right after its SNAPSHOT, or last
// before its END (once the stream has rebuilt the block's .streamchain/).
enum class Insert { AfterSnapshot, BeforeEnd };

class HostilePrimary {
public:
    // Blocks 1..3 hold files in directories, a 0600 file, a log; block 4 (the target)
    // appends to the log and adds a file, leaving dir/ alone.
    HostilePrimary();
    static constexpr std::uint64_t kBase = 3;   // the replica holds 0..kBase
    static constexpr std::uint64_t kTarget = 4; // what the attacks try to publish

    ChainFixture& chain() { return chain_; }
    const nlohmann::json& chainWire() const { return chainWire_; } // the hello's "chain" object
    // {"height","uuid","header","parent"} for the target, as an honest sender announces it.
    nlohmann::json announcement() const;
    const std::string& honestIncremental() const {
        return incremental_;
    }                                                       // btrfs send --proto 2 -p base target
    const std::string& honestFull() const { return full_; } // btrfs send --proto 2 target
    SplitSendStream honestCommands() const { return splitSendStream(incremental_); }
    SendStreamWriter writer() const { return SendStreamWriter(honestCommands().version); }
    // The honest incremental stream with the commands written into `extra` inserted.
    std::string honestWith(const SendStreamWriter& extra, Insert where) const;
    SendUuid blockUuid(std::uint64_t height) const; // the primary snapshot's UUID
    std::string blockPath(std::uint64_t height) const { return chain_.block(height); }

    // A fresh replica holding blocks 0..kBase, made with `streamchain send --upto`.
    std::string replicate(BtrfsImage& disk, const std::string& name = "replica");

private:
    ChainFixture chain_;
    nlohmann::json chainWire_;
    std::string incremental_;
    std::string full_;
};

// What came of one attempt to have a block received.
struct ReceiveOutcome {
    bool answered = false; // a final R or X arrived
    bool accepted = false; // R {"published": [...]} with something in it
    std::string refusal;   // the X frame's "error" text
    std::string problem;   // why there was no answer: a hang, a dead agent, a broken pipe
    std::vector<std::uint64_t> published;
    std::string describe() const; // one line for failure messages
};

struct ReceiveAttempt {
    nlohmann::json chain;
    nlohmann::json blocks;       // the receive request's "blocks"
    std::string stream;          // raw bytes sent as D frames
    nlohmann::json end;          // the E frame; null: byte count and SHA-256 of `stream`
    nlohmann::json extraRequest; // merged into the receive request
    double timeout = AgentSession::kDefaultTimeout;
};

// hello, prepare, receive, D frames, E; reads the answer with a bound. The session is
// ended afterwards (bye, or killed if it does not leave) so the replica lock is free.
ReceiveOutcome attemptReceive(const std::string& root, const ReceiveAttempt& attempt);
// hello + prepare on an open session; throws std::runtime_error if either is refused.
void helloAndPrepare(AgentSession& session, const nlohmann::json& chain);
// Ask a session to leave; kill it if it does not within a few seconds.
void endSession(AgentSession& session);

// The CLI, killed after `seconds` (exit 137, and the error says so): a hang fails, not waits.
CommandResult boundedCli(const std::vector<std::string>& args,
                         double seconds = AgentSession::kDefaultTimeout);

std::string lowercase(std::string text);
// Evidence for messages: "mode 104755, 64 bytes: ATTACKER…" or "absent".
std::string describePath(const std::string& path);

} // namespace sctest
