#pragma once
// Who a chain is: its id, name, hash algorithm, footprint settings and public key.
// Stored as .streamchain/chain.json; the private key sits beside it (0600).
#include <cstdint>
#include <string>

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

std::string randomHex(std::size_t bytes);

// Write a small file atomically (temp file in the same directory, fsync, rename).
void writeFileAtomically(const std::string& path, const std::string& contents, unsigned mode = 0644);
std::string readSmallFile(const std::string& path, std::size_t limit = 16u << 20);
// Everything left to read from fd; throws sc::Error naming `what` past `limit` bytes.
std::string readAllFrom(int fd, const std::string& what, std::size_t limit);

} // namespace sc
