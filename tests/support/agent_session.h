#pragma once
// `streamchain agent --root DIR` as a child process with pipes, driven frame by frame
// by a client written apart from core's framing, so that it can also send what an
// honest sender never would: malformed frames, wrong JSON, torn streams. Every read
// and write is bounded: an agent that hangs fails the test with a message instead
// of waiting for ctest's timeout. The child dies with the test (PR_SET_PDEATHSIG).
//
// Frame = 1 type byte (H Q R D E X), 4-byte big-endian payload length, payload.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <sys/types.h>

namespace sctest {

struct AgentFrame {
    char type = 0;
    std::string payload;
    nlohmann::json json() const;  // null if the payload is not JSON
    std::string error() const;    // an X frame's "error" text, else the payload as it is
    std::string describe() const; // "X {...}" shortened, for messages
};

class AgentTimeout : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class AgentSession {
public:
    static constexpr double kDefaultTimeout = 60;

    explicit AgentSession(const std::string& root);
    ~AgentSession(); // kills the agent if it still runs
    AgentSession(const AgentSession&) = delete;
    AgentSession& operator=(const AgentSession&) = delete;

    // Writes; throw std::runtime_error if the agent stops reading for `timeout` seconds
    // or its input is closed.
    void sendFrame(char type, const std::string& payload, double timeout = kDefaultTimeout);
    void sendJson(char type, const nlohmann::json& json) { sendFrame(type, json.dump()); }
    void hello(const nlohmann::json& chain, const nlohmann::json& protocol = 1);
    // A hello of a version-2 sender: "protocol" 1 and "protocols" [1, 2].
    void helloOffering(const nlohmann::json& chain, const nlohmann::json& protocols);
    void request(const nlohmann::json& json) { sendJson('Q', json); }
    // The raw stream as D frames of at most `piece` bytes.
    void sendData(const std::string& stream, std::size_t piece = 1u << 20);
    void sendEnd(std::uint64_t rawBytes, const std::string& rawSha256);
    void sendEnd(const std::string& stream); // byte count and SHA-256 of `stream`
    void sendRaw(const std::string& bytes, double timeout = kDefaultTimeout);

    // The next frame; nothing if the agent closed its output (exited); throws
    // AgentTimeout (naming what was awaited) if nothing complete came within `timeout`.
    std::optional<AgentFrame> read(const std::string& awaiting, double timeout = kDefaultTimeout);
    // A frame of this type, or std::runtime_error describing what came instead.
    AgentFrame expect(char type, const std::string& awaiting, double timeout = kDefaultTimeout);

    void closeInput();
    void kill();
    bool alive();
    // Waits for the agent to exit by itself; false after `timeout`.
    bool waitExit(double timeout);
    std::string exitDescription(); // "running", "exit 0", "killed by signal 6"
    std::string errors() const;    // what the agent wrote to stderr so far (last 4 KiB)
    pid_t pid() const { return pid_; }

private:
    void reap(bool block);
    pid_t pid_ = -1;
    int in_ = -1;  // agent's stdin (we write)
    int out_ = -1; // agent's stdout (we read)
    int err_ = -1; // memfd holding its stderr
    std::optional<int> status_;
    std::string buffered_; // bytes read but not yet a whole frame
};

std::string sha256Hex(const std::string& bytes);
std::string xxh3Hex(const std::string& bytes); // XXH3-128, canonical hex, straight from libxxhash

} // namespace sctest
