// The checksums a stream carries across a transport: SHA-256 (agent protocol 1)
// or XXH3-128 (protocol 2), declared in hash.h beside the content hashes.
#include "core/base/error.h"
#include "core/base/hash.h"

#include <xxhash.h>

namespace sc {

std::string_view transferChecksumName(TransferChecksum checksum) {
    return checksum == TransferChecksum::Sha256 ? "SHA-256" : "XXH3-128";
}

TransferChecksums& TransferChecksums::add(TransferChecksum checksum) {
    (checksum == TransferChecksum::Sha256 ? sha256 : xxh3) = true;
    return *this;
}

TransferChecksums& TransferChecksums::operator|=(const TransferChecksums& other) {
    sha256 = sha256 || other.sha256;
    xxh3 = xxh3 || other.xxh3;
    return *this;
}

struct Xxh3Hasher::State {
    XXH3_state_t* state = XXH3_createState();
    ~State() { XXH3_freeState(state); }
};

Xxh3Hasher::Xxh3Hasher() : state_(std::make_unique<State>()) {
    if (!state_->state || XXH3_128bits_reset(state_->state) != XXH_OK)
        throw Error("cannot initialise the XXH3 checksum");
}

Xxh3Hasher::~Xxh3Hasher() = default;

Xxh3Hasher& Xxh3Hasher::update(std::span<const std::uint8_t> data) {
    if (!data.empty())
        XXH3_128bits_update(state_->state, data.data(), data.size());
    return *this;
}

Xxh3Hasher& Xxh3Hasher::update(std::string_view data) {
    if (!data.empty())
        XXH3_128bits_update(state_->state, data.data(), data.size());
    return *this;
}

namespace {
std::string canonicalHex(XXH128_hash_t hash) {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, hash);
    return toHex(std::span<const std::uint8_t>(canonical.digest, sizeof canonical.digest));
}
} // namespace

std::string Xxh3Hasher::finishHex() {
    std::string hex = canonicalHex(XXH3_128bits_digest(state_->state));
    XXH3_128bits_reset(state_->state);
    return hex;
}

std::string xxh3Hex(std::string_view data) { return canonicalHex(XXH3_128bits(data.data(), data.size())); }

TransferHasher::TransferHasher(TransferChecksum checksum) : checksum_(checksum) {
    if (checksum == TransferChecksum::Sha256)
        sha256_ = std::make_unique<Hasher>(HashAlgorithm::Sha256);
    else
        xxh3_ = std::make_unique<Xxh3Hasher>();
}

TransferHasher::~TransferHasher() = default;
TransferHasher::TransferHasher(TransferHasher&&) noexcept = default;
TransferHasher& TransferHasher::operator=(TransferHasher&&) noexcept = default;

void TransferHasher::update(std::span<const std::uint8_t> data) {
    if (sha256_)
        sha256_->update(data);
    else
        xxh3_->update(data);
}

std::string TransferHasher::finishHex() { return sha256_ ? sha256_->finish().hex() : xxh3_->finishHex(); }

} // namespace sc
