#pragma once
// Who a chain is: its id, name, hash algorithm, footprint settings and public key.
// Stored as .streamchain/chain.json; the private key sits beside it (0600).
#include <cstdint>
#include <string>

#include "core/footprint/footprint.h"

namespace sc {

constexpr std::uint32_t kChainFormat = 1;

struct ChainIdentity {
    std::uint32_t format = kChainFormat;
    std::string id; // 32 hex chars, random
    std::string name;
    std::string hashAlgorithm = "sha256";
    std::uint32_t footprintFormat = 0;
    std::uint32_t features = 0;
    std::string publicKey; // hex Ed25519
    std::string created;   // RFC 3339

    static ChainIdentity load(const std::string& file);
    void save(const std::string& file) const; // atomic: temp file, fsync, rename
};

// How this chain's footprints are computed: its hash algorithm and feature mask.
FootprintOptions footprintOptionsOf(const ChainIdentity& chain);

struct BlockHeader;
// "" when `header` declares the chain's footprint format, hash algorithm and features;
// else what it declares against what the chain uses.
std::string footprintSettingsMismatch(const BlockHeader& header, const ChainIdentity& chain);

} // namespace sc
