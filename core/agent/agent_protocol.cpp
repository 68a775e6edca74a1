#include "core/agent/agent_protocol.h"

#include "core/base/error.h"
#include "core/footprint/footprint_tree.h"
#include "core/ledger/chain_identity.h"

#include <cctype>
#include <cstdlib>
#include <vector>

namespace sc {

bool isFrameType(std::uint8_t byte) {
    switch (static_cast<FrameType>(byte)) {
    case FrameType::Hello:
    case FrameType::Request:
    case FrameType::Reply:
    case FrameType::Data:
    case FrameType::End:
    case FrameType::Failure:
        return true;
    }
    return false;
}

const char* frameTypeName(FrameType type) {
    switch (type) {
    case FrameType::Hello:
        return "hello";
    case FrameType::Request:
        return "request";
    case FrameType::Reply:
        return "reply";
    case FrameType::Data:
        return "data";
    case FrameType::End:
        return "end";
    case FrameType::Failure:
        return "failure";
    }
    return "?";
}

nlohmann::json Frame::json(const std::string& where) const {
    auto parsed = nlohmann::json::parse(payload, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
        throw Error(where + ": malformed " + frameTypeName(type) + " frame (not a JSON object)");
    return parsed;
}

std::string toWire(const nlohmann::json& json) {
    return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void FrameWriter::sendJson(FrameType type, const nlohmann::json& json) { send(type, toWire(json)); }

std::string encodeFrameHeader(FrameType type, std::size_t payloadSize) {
    if (payloadSize > kMaxFramePayload)
        throw Error("frame payload of " + std::to_string(payloadSize) + " bytes exceeds the protocol limit");
    std::string header(kFrameHeaderSize, '\0');
    header[0] = static_cast<char>(type);
    for (int i = 0; i < 4; ++i)
        header[static_cast<std::size_t>(1 + i)] = static_cast<char>((payloadSize >> (8 * (3 - i))) & 0xff);
    return header;
}

std::string encodeFrame(FrameType type, std::string_view payload) {
    return encodeFrameHeader(type, payload.size()) + std::string(payload);
}

FrameReader::FrameReader(ReadFn read, std::string peer) : read_(std::move(read)), peer_(std::move(peer)) {}

bool FrameReader::fill(std::uint8_t* buffer, std::size_t size, bool eofAllowed) {
    std::size_t done = 0;
    while (done < size) {
        std::size_t n = read_(buffer + done, size - done);
        if (n == 0) {
            if (done == 0 && eofAllowed)
                return false;
            throw Error(peer_ + ": connection ended in the middle of a frame");
        }
        done += n;
    }
    return true;
}

std::optional<Frame> FrameReader::next() {
    std::uint8_t header[kFrameHeaderSize];
    if (!fill(header, 1, true))
        return std::nullopt;
    if (!isFrameType(header[0])) {
        // Likely a shell or a program that is not our agent talking: show what it said.
        std::string said(1, static_cast<char>(header[0]));
        std::uint8_t more[60];
        std::size_t n = read_(more, sizeof more);
        said.append(reinterpret_cast<const char*>(more), n);
        for (char& c : said)
            if (!std::isprint(static_cast<unsigned char>(c)))
                c = '?';
        throw Error(peer_ + ": does not speak the streamchain agent protocol (it sent \"" + said + "\")");
    }
    fill(header + 1, 4, false);
    std::size_t size = 0;
    for (int i = 1; i < 5; ++i)
        size = (size << 8) | header[i];
    if (size > kMaxFramePayload)
        throw Error(peer_ + ": frame of " + std::to_string(size) + " bytes exceeds the protocol limit");
    Frame frame;
    frame.type = static_cast<FrameType>(header[0]);
    frame.payload.resize(size);
    if (size)
        fill(reinterpret_cast<std::uint8_t*>(frame.payload.data()), size, false);
    return frame;
}

Frame FrameReader::expect(FrameType type, const std::string& step) {
    std::optional<Frame> frame = next();
    if (!frame)
        throw Error(peer_ + ": connection closed during " + step);
    if (frame->type == FrameType::Failure) {
        auto j = frame->json(peer_);
        throw Error(peer_ + ": " + step + " failed: " + j.value("error", std::string("(no reason given)")));
    }
    if (frame->type != type)
        throw Error(peer_ + ": protocol error during " + step + ": expected a " + frameTypeName(type) +
                    " frame, got " + frameTypeName(frame->type));
    return *frame;
}

void FrameWriter::send(FrameType type, std::string_view payload) {
    std::string header = encodeFrameHeader(type, payload.size());
    // One write when small keeps control frames in one SSH packet.
    if (payload.size() < 4096) {
        header.append(payload);
        write_(std::span(reinterpret_cast<const std::uint8_t*>(header.data()), header.size()));
        return;
    }
    write_(std::span(reinterpret_cast<const std::uint8_t*>(header.data()), header.size()));
    write_(std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
}

nlohmann::json chainToWire(const ChainIdentity& chain) {
    return {{"id", chain.id},
            {"name", chain.name},
            {"public_key", chain.publicKey},
            {"hash_algorithm", chain.hashAlgorithm},
            {"features", chain.features},
            {"footprint_format", chain.footprintFormat}};
}

ChainIdentity chainFromWire(const nlohmann::json& json) {
    try {
        ChainIdentity chain;
        chain.id = json.at("id").get<std::string>();
        chain.name = json.value("name", std::string());
        chain.publicKey = json.at("public_key").get<std::string>();
        chain.hashAlgorithm = json.value("hash_algorithm", std::string("sha256"));
        chain.features = json.value("features", kFootprintAllFeatures);
        chain.footprintFormat = json.value("footprint_format", kFootprintFormatWholeFile);
        if (chain.id.size() != 32 || chain.id.find_first_not_of("0123456789abcdef") != std::string::npos)
            throw Error("malformed chain id");
        return chain;
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("malformed chain announcement: ") + e.what());
    }
}

std::uint32_t agentProtocolNewest() {
    const char* cap = std::getenv("STREAMCHAIN_AGENT_MAX_PROTOCOL");
    if (!cap || !*cap)
        return kAgentProtocolVersion;
    char* end = nullptr;
    unsigned long value = std::strtoul(cap, &end, 10);
    if (*end != '\0' || value < kAgentProtocolOldest || value > kAgentProtocolVersion)
        throw Error("STREAMCHAIN_AGENT_MAX_PROTOCOL must be a protocol version from " +
                    std::to_string(kAgentProtocolOldest) + " to " + std::to_string(kAgentProtocolVersion));
    return static_cast<std::uint32_t>(value);
}

nlohmann::json helloVersions(std::uint32_t newest) {
    nlohmann::json fields = {{"protocol", kAgentProtocolOldest}};
    if (newest > kAgentProtocolOldest) {
        fields["protocols"] = nlohmann::json::array();
        for (std::uint32_t version = kAgentProtocolOldest; version <= newest; ++version)
            fields["protocols"].push_back(version);
    }
    return fields;
}

std::optional<std::uint32_t> negotiateAgentProtocol(const nlohmann::json& hello, std::uint32_t newest) {
    const nlohmann::json protocol = hello.contains("protocol") ? hello["protocol"] : nlohmann::json();
    if (!protocol.is_number_unsigned())
        throw Error("the hello's protocol must be an unsigned integer, not " + toWire(protocol));
    std::vector<nlohmann::json> offered{protocol};
    if (hello.contains("protocols")) {
        const nlohmann::json& list = hello["protocols"];
        if (!list.is_array())
            throw Error("the hello's protocols must be a list of versions, not " + toWire(list));
        offered.insert(offered.end(), list.begin(), list.end());
    }
    std::optional<std::uint32_t> chosen;
    for (const nlohmann::json& version : offered) {
        if (!version.is_number_unsigned())
            throw Error("the hello offers a protocol version that is not an unsigned integer: " + toWire(version));
        std::uint64_t value = version.get<std::uint64_t>();
        if (value >= kAgentProtocolOldest && value <= newest && (!chosen || value > *chosen))
            chosen = static_cast<std::uint32_t>(value);
    }
    return chosen;
}

TransferChecksum transferChecksumOf(std::uint32_t protocol) {
    return protocol >= 2 ? TransferChecksum::Xxh3 : TransferChecksum::Sha256;
}

const char* trailerChecksumKey(TransferChecksum checksum) {
    return checksum == TransferChecksum::Sha256 ? "raw_sha256" : "raw_xxh3";
}

nlohmann::json trailerChecksumsToWire(const TransferChecksums& checksums) {
    nlohmann::json keys = nlohmann::json::array();
    for (TransferChecksum checksum : {TransferChecksum::Xxh3, TransferChecksum::Sha256})
        if (checksums.has(checksum))
            keys.push_back(trailerChecksumKey(checksum));
    return keys;
}

TransferChecksums trailerChecksumsOf(const nlohmann::json& ready) {
    TransferChecksums checksums;
    if (!ready.contains("trailer_checksums"))
        return checksums.add(TransferChecksum::Sha256);
    if (!ready["trailer_checksums"].is_array())
        throw Error("malformed trailer_checksums in the agent's answer");
    for (const nlohmann::json& key : ready["trailer_checksums"]) {
        if (key == trailerChecksumKey(TransferChecksum::Sha256))
            checksums.add(TransferChecksum::Sha256);
        else if (key == trailerChecksumKey(TransferChecksum::Xxh3))
            checksums.add(TransferChecksum::Xxh3);
        else
            throw Error("the agent asks for a trailer checksum this streamchain cannot make: " + toWire(key));
    }
    return checksums;
}

bool isValidSpoolKey(const std::string& key) {
    return !key.empty() && key.size() <= 200 && key.find_first_not_of("0123456789abcdef-") == std::string::npos;
}

} // namespace sc
