#pragma once
// The signed header of a block. It travels inside the block's snapshot
// (.streamchain/header.json, outside the footprint) so a received block describes itself.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/base/hash.h"
#include "core/footprint/footprint_tree.h"

namespace sc {

class SigningKey;

constexpr std::uint32_t kBlockHeaderFormat = 1;

struct BlockHeader {
    std::uint32_t format = kBlockHeaderFormat;
    std::string chainId;
    std::uint64_t height = 0;
    std::string previous;    // hex hash of the previous header; empty for the genesis block
    std::string contentRoot; // hex footprint root
    std::string hashAlgorithm = "sha256";
    std::uint32_t footprintFormat = 0;
    std::uint32_t features = 0; // metadata feature mask of the footprint
    std::string timestamp;      // RFC 3339, UTC, microseconds
    std::string message;
    nlohmann::json operations = nlohmann::json::array(); // each an object; may carry "element"
    std::vector<std::string> elements;                   // sorted, unique
    FootprintCounts counts;
    std::string signature; // hex Ed25519 signature over canonicalBytes(false)

    nlohmann::json toJson(bool withSignature = true) const;
    static BlockHeader fromJson(const nlohmann::json& json); // throws sc::Error on anything malformed
    static BlockHeader parse(const std::string& text, const std::string& where);

    // Compact JSON with sorted keys: the bytes that are signed and hashed.
    std::string canonicalBytes(bool withSignature) const;
    Digest hash() const; // of the canonical bytes with the signature: what the next block links to

    void sign(const SigningKey& key);
    bool signatureValid(const std::string& publicKeyHex) const;
};

std::string utcTimestampNow();

} // namespace sc
