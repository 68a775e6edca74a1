#include "core/ledger/block_header.h"

#include "core/base/error.h"
#include "core/ledger/signing_key.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace sc {

using nlohmann::json;

json BlockHeader::toJson(bool withSignature) const {
    json j = {
        {"format", format},
        {"chain_id", chainId},
        {"height", height},
        {"previous", previous},
        {"content_root", contentRoot},
        {"hash_algorithm", hashAlgorithm},
        {"footprint_format", footprintFormat},
        {"features", features},
        {"timestamp", timestamp},
        {"message", message},
        {"operations", operations},
        {"elements", elements},
        {"counts",
         {{"files", counts.files},
          {"directories", counts.directories},
          {"symlinks", counts.symlinks},
          {"others", counts.others},
          {"bytes", counts.bytes}}},
    };
    if (withSignature)
        j["signature"] = signature;
    return j;
}

BlockHeader BlockHeader::fromJson(const json& j) {
    BlockHeader header;
    try {
        header.format = j.at("format").get<std::uint32_t>();
        if (header.format != kBlockHeaderFormat)
            throw Error("unsupported block header format " + std::to_string(header.format));
        header.chainId = j.at("chain_id").get<std::string>();
        header.height = j.at("height").get<std::uint64_t>();
        header.previous = j.at("previous").get<std::string>();
        header.contentRoot = j.at("content_root").get<std::string>();
        header.hashAlgorithm = j.at("hash_algorithm").get<std::string>();
        header.footprintFormat = j.at("footprint_format").get<std::uint32_t>();
        header.features = j.at("features").get<std::uint32_t>();
        header.timestamp = j.at("timestamp").get<std::string>();
        header.message = j.at("message").get<std::string>();
        header.operations = j.at("operations");
        if (!header.operations.is_array())
            throw Error("operations is not an array");
        header.elements = j.at("elements").get<std::vector<std::string>>();
        const json& c = j.at("counts");
        header.counts = {c.at("files").get<std::uint64_t>(), c.at("directories").get<std::uint64_t>(),
                         c.at("symlinks").get<std::uint64_t>(), c.at("others").get<std::uint64_t>(),
                         c.at("bytes").get<std::uint64_t>()};
        header.signature = j.value("signature", std::string());
    } catch (const json::exception& e) {
        throw Error(std::string("malformed block header: ") + e.what());
    }
    return header;
}

BlockHeader BlockHeader::parse(const std::string& text, const std::string& where) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error("block header " + where + " is not valid JSON");
    try {
        return fromJson(j);
    } catch (const Error& e) {
        throw Error(std::string(e.what()) + " in " + where);
    }
}

std::string BlockHeader::canonicalBytes(bool withSignature) const {
    // nlohmann::json keeps object keys sorted, and dump() without indent is compact.
    return toJson(withSignature).dump();
}

Digest BlockHeader::hash() const {
    return hashBytes(parseHashAlgorithm(hashAlgorithm), canonicalBytes(true));
}

void BlockHeader::sign(const SigningKey& key) {
    signature = toHex(key.sign(canonicalBytes(false)));
}

bool BlockHeader::signatureValid(const std::string& publicKeyHex) const {
    Digest raw;
    try {
        raw = Digest::fromHex(signature);
    } catch (const Error&) {
        return false;
    }
    std::string_view bytes(reinterpret_cast<const char*>(raw.bytes.data()), raw.size);
    return verifyEd25519(publicKeyHex, canonicalBytes(false), bytes);
}

std::string utcTimestampNow() {
    auto now = std::chrono::system_clock::now();
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
    std::tm tm {};
    gmtime_r(&seconds, &tm);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros % 1000000));
    return text;
}

} // namespace sc
