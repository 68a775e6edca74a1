#include "core/base/hash.h"

#include <openssl/rand.h>
#include <vector>

#include "core/base/error.h"

#include <algorithm>
#include <openssl/evp.h>

namespace sc {

std::string_view hashAlgorithmName(HashAlgorithm algorithm) {
    switch (algorithm) {
    case HashAlgorithm::Sha256:
        return "sha256";
    case HashAlgorithm::Blake2b512:
        return "blake2b512";
    }
    return "unknown";
}

HashAlgorithm parseHashAlgorithm(std::string_view name) {
    if (name == "sha256")
        return HashAlgorithm::Sha256;
    if (name == "blake2b512")
        return HashAlgorithm::Blake2b512;
    throw Error("unknown hash algorithm '" + std::string(name) + "' (expected sha256 or blake2b512)",
                ExitCode::Usage);
}

std::string toHex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(bytes.size() * 2, '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    return out;
}

std::string toHex(std::string_view bytes) {
    return toHex(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::string Digest::hex() const { return toHex(view()); }

static int hexValue(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

Digest Digest::fromHex(std::string_view hex) {
    Digest digest;
    if (hex.size() % 2 != 0 || hex.size() > 2 * digest.bytes.size())
        throw Error("malformed digest '" + std::string(hex) + "'", ExitCode::Usage);
    for (std::size_t i = 0; i < hex.size() / 2; ++i) {
        int hi = hexValue(hex[2 * i]);
        int lo = hexValue(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            throw Error("malformed digest '" + std::string(hex) + "'", ExitCode::Usage);
        digest.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    digest.size = static_cast<std::uint8_t>(hex.size() / 2);
    return digest;
}

struct Hasher::Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const EVP_MD* md = nullptr;
    ~Context() { EVP_MD_CTX_free(ctx); }
};

static const EVP_MD* evpFor(HashAlgorithm algorithm) {
    return algorithm == HashAlgorithm::Sha256 ? EVP_sha256() : EVP_blake2b512();
}

Hasher::Hasher(HashAlgorithm algorithm) : algorithm_(algorithm), context_(std::make_unique<Context>()) {
    context_->md = evpFor(algorithm);
    if (!context_->ctx || EVP_DigestInit_ex(context_->ctx, context_->md, nullptr) != 1)
        throw Error("cannot initialise " + std::string(hashAlgorithmName(algorithm)) + " digest");
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

Hasher& Hasher::update(std::span<const std::uint8_t> data) {
    if (!data.empty())
        EVP_DigestUpdate(context_->ctx, data.data(), data.size());
    return *this;
}

Hasher& Hasher::update(std::string_view data) {
    if (!data.empty())
        EVP_DigestUpdate(context_->ctx, data.data(), data.size());
    return *this;
}

Hasher& Hasher::updateU8(std::uint8_t value) { return update(std::span(&value, 1)); }

Hasher& Hasher::updateU32(std::uint32_t value) {
    std::uint8_t buf[4];
    for (int i = 0; i < 4; ++i)
        buf[i] = static_cast<std::uint8_t>(value >> (8 * i));
    return update(std::span(buf, 4));
}

Hasher& Hasher::updateU64(std::uint64_t value) {
    std::uint8_t buf[8];
    for (int i = 0; i < 8; ++i)
        buf[i] = static_cast<std::uint8_t>(value >> (8 * i));
    return update(std::span(buf, 8));
}

Hasher& Hasher::updateSized(std::string_view data) {
    updateU32(static_cast<std::uint32_t>(data.size()));
    return update(data);
}

Hasher& Hasher::updateDigest(const Digest& digest) { return update(digest.view()); }

Digest Hasher::finish() {
    Digest digest;
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_->ctx, digest.bytes.data(), &length);
    digest.size = static_cast<std::uint8_t>(length);
    EVP_DigestInit_ex(context_->ctx, context_->md, nullptr);
    return digest;
}

Digest hashBytes(HashAlgorithm algorithm, std::string_view data) {
    Hasher hasher(algorithm);
    hasher.update(data);
    return hasher.finish();
}

std::string randomHex(std::size_t bytes) {
    std::vector<std::uint8_t> raw(bytes);
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
        throw Error("cannot read random bytes");
    return toHex(std::span<const std::uint8_t>(raw));
}


} // namespace sc
