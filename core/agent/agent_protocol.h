#pragma once
// The framed protocol between a sender and `streamchain agent` on a replica
// (written down in docs/agent-protocol.md). Every frame is one type byte, a
// 32-bit big-endian payload length, then the payload. Control frames carry
// JSON; data frames carry (possibly compressed) send-stream bytes.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "core/base/hash.h"

namespace sc {

struct ChainIdentity;

// Versions: 1 checks streams by SHA-256, 2 by XXH3-128 (docs/agent-protocol.md).
constexpr std::uint32_t kAgentProtocolVersion = 2; // the newest this build speaks
constexpr std::uint32_t kAgentProtocolOldest = 1;
constexpr std::size_t kMaxFramePayload = 16u << 20;
constexpr std::size_t kFrameHeaderSize = 5;

enum class FrameType : std::uint8_t {
    Hello = 'H',   // JSON, first frame each way
    Request = 'Q', // JSON {"op": ...}
    Reply = 'R',   // JSON answer to a request
    Data = 'D',    // stream bytes
    End = 'E',     // JSON trailer of a stream: raw byte count and digest
    Failure = 'X', // JSON {"error": "..."}: the request failed; the session goes on
};
bool isFrameType(std::uint8_t byte);
const char* frameTypeName(FrameType type);

struct Frame {
    FrameType type = FrameType::Data;
    std::string payload;
    nlohmann::json json(const std::string& where) const; // throws sc::Error if not a JSON object
};

// A control frame's payload. Text that is not valid UTF-8 (a raw path in an error
// message) goes out with U+FFFD in its place instead of failing the frame.
std::string toWire(const nlohmann::json& json);

std::string encodeFrameHeader(FrameType type, std::size_t payloadSize);
std::string encodeFrame(FrameType type, std::string_view payload);

// Reads frames from a byte source. `read` fills up to n bytes, returning 0 at EOF.
class FrameReader {
public:
    using ReadFn = std::function<std::size_t(std::uint8_t*, std::size_t)>;
    FrameReader(ReadFn read, std::string peer);
    // Nothing at a clean end of input; throws sc::Error on a bad or truncated frame.
    std::optional<Frame> next();
    Frame expect(FrameType type, const std::string& step); // a Failure frame becomes an Error with its text

private:
    bool fill(std::uint8_t* buffer, std::size_t size, bool eofAllowed);
    ReadFn read_;
    std::string peer_;
};

class FrameWriter {
public:
    using WriteFn = std::function<void(std::span<const std::uint8_t>)>;
    explicit FrameWriter(WriteFn write) : write_(std::move(write)) {}
    void send(FrameType type, std::string_view payload);
    void sendJson(FrameType type, const nlohmann::json& json);

private:
    WriteFn write_;
};

// The chain as announced in the sender's hello: what a replica binds to.
nlohmann::json chainToWire(const ChainIdentity& chain);
ChainIdentity chainFromWire(const nlohmann::json& json); // throws sc::Error if malformed

// The newest version this process offers or accepts: kAgentProtocolVersion, unless the
// test hook STREAMCHAIN_AGENT_MAX_PROTOCOL caps it (so a test can play an older peer).
std::uint32_t agentProtocolNewest();
// The version fields of a sender's hello offering versions up to `newest`. "protocol" stays
// 1, so an agent of version 1 answers instead of refusing; "protocols" lists the rest.
nlohmann::json helloVersions(std::uint32_t newest);
// The agent's choice from a sender's hello: the highest version both speak, nothing if
// none. Throws sc::Error if the version fields are malformed.
std::optional<std::uint32_t> negotiateAgentProtocol(const nlohmann::json& hello, std::uint32_t newest);

// The transfer checksum of a stream's trailer for a session of this version, and its key.
TransferChecksum transferChecksumOf(std::uint32_t protocol);
const char* trailerChecksumKey(TransferChecksum checksum); // "raw_sha256", "raw_xxh3"
// The checksums a receive's ready reply asks the trailer to carry: those of the agent and
// of every replica it relays to. A reply without the list comes from a version-1 agent.
nlohmann::json trailerChecksumsToWire(const TransferChecksums& checksums);
TransferChecksums trailerChecksumsOf(const nlohmann::json& ready); // throws sc::Error on names it cannot make

// Spool keys name a (parent, blocks) stream; only [0-9a-f-] so they are safe file names.
bool isValidSpoolKey(const std::string& key);

} // namespace sc
