#pragma once
// Content hashing for footprints and headers (OpenSSL EVP), and the checksums
// streams carry across a transport (SHA-256 or XXH3-128).
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace sc {

enum class HashAlgorithm { Sha256, Blake2b512 };

std::string_view hashAlgorithmName(HashAlgorithm algorithm); // "sha256", "blake2b512"
HashAlgorithm parseHashAlgorithm(std::string_view name);     // throws sc::Error on unknown names

// A digest of up to 64 bytes; its size depends on the algorithm.
struct Digest {
    std::array<std::uint8_t, 64> bytes{};
    std::uint8_t size = 0;

    std::span<const std::uint8_t> view() const { return {bytes.data(), size}; }
    std::string hex() const;
    static Digest fromHex(std::string_view hex); // throws sc::Error on malformed input
    bool empty() const { return size == 0; }
    friend bool operator==(const Digest& a, const Digest& b) {
        return a.size == b.size && std::equal(a.bytes.begin(), a.bytes.begin() + a.size, b.bytes.begin());
    }
};

// Incremental hasher. Not copyable; cheap to create.
class Hasher {
public:
    explicit Hasher(HashAlgorithm algorithm);
    ~Hasher();
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;
    Hasher(Hasher&&) noexcept;
    Hasher& operator=(Hasher&&) noexcept;

    Hasher& update(std::span<const std::uint8_t> data);
    Hasher& update(std::string_view data);
    // Fixed-width little-endian integers, for canonical binary encodings.
    Hasher& updateU8(std::uint8_t value);
    Hasher& updateU32(std::uint32_t value);
    Hasher& updateU64(std::uint64_t value);
    // Length-prefixed (u32) bytes, so concatenations cannot be ambiguous.
    Hasher& updateSized(std::string_view data);
    Hasher& updateDigest(const Digest& digest);
    Digest finish(); // resets the hasher for reuse

    HashAlgorithm algorithm() const { return algorithm_; }

private:
    struct Context;
    HashAlgorithm algorithm_;
    std::unique_ptr<Context> context_;
};

Digest hashBytes(HashAlgorithm algorithm, std::string_view data);

// The checksum of a raw send stream in transit (docs/agent-protocol.md). It only
// catches corruption on the way: the footprint and the signed header prove content.
enum class TransferChecksum : std::uint8_t { Sha256, Xxh3 };
std::string_view transferChecksumName(TransferChecksum checksum); // "SHA-256", "XXH3-128"

// Which transfer checksums the receivers of one stream check.
struct TransferChecksums {
    bool sha256 = false;
    bool xxh3 = false;
    bool any() const { return sha256 || xxh3; }
    bool has(TransferChecksum checksum) const { return checksum == TransferChecksum::Sha256 ? sha256 : xxh3; }
    TransferChecksums& add(TransferChecksum checksum);
    TransferChecksums& operator|=(const TransferChecksums& other);
};

// XXH3 128-bit (libxxhash), streaming. Hex is the canonical big-endian form
// that `xxhsum -H2` prints.
class Xxh3Hasher {
public:
    Xxh3Hasher();
    ~Xxh3Hasher();
    Xxh3Hasher(const Xxh3Hasher&) = delete;
    Xxh3Hasher& operator=(const Xxh3Hasher&) = delete;
    Xxh3Hasher& update(std::span<const std::uint8_t> data);
    Xxh3Hasher& update(std::string_view data);
    std::string finishHex(); // resets the hasher for reuse

private:
    struct State;
    std::unique_ptr<State> state_;
};
std::string xxh3Hex(std::string_view data); // one shot

// One transfer checksum, of either kind.
class TransferHasher {
public:
    explicit TransferHasher(TransferChecksum checksum);
    ~TransferHasher();
    TransferHasher(TransferHasher&&) noexcept;
    TransferHasher& operator=(TransferHasher&&) noexcept;
    void update(std::span<const std::uint8_t> data);
    std::string finishHex(); // resets the hasher for reuse
    TransferChecksum checksum() const { return checksum_; }

private:
    TransferChecksum checksum_;
    std::unique_ptr<Hasher> sha256_;
    std::unique_ptr<Xxh3Hasher> xxh3_;
};

std::string toHex(std::span<const std::uint8_t> bytes);
std::string toHex(std::string_view bytes);
std::string randomHex(std::size_t bytes); // `bytes` random bytes from the OpenSSL CSPRNG, as hex

} // namespace sc
