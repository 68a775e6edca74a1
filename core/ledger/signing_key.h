#pragma once
// The chain's Ed25519 key pair (OpenSSL EVP). The private key lives in a 0600 PEM file.
#include <memory>
#include <string>
#include <string_view>

namespace sc {

class SigningKey {
public:
    static SigningKey generate();
    // Loads a PEM private key; refuses a file readable by group or others.
    static SigningKey load(const std::string& pemFile);
    // Writes the PEM with mode 0600; the file must not exist yet.
    void save(const std::string& pemFile) const;

    std::string publicKeyHex() const;          // raw 32-byte public key, hex
    std::string sign(std::string_view message) const; // raw 64-byte signature

    ~SigningKey();
    SigningKey(SigningKey&&) noexcept;
    SigningKey& operator=(SigningKey&&) noexcept;

private:
    struct Key;
    explicit SigningKey(std::unique_ptr<Key> key);
    std::unique_ptr<Key> key_;
};

// True when `signature` (raw bytes) is a valid Ed25519 signature of `message` by the hex public key.
bool verifyEd25519(std::string_view publicKeyHex, std::string_view message, std::string_view signature);

} // namespace sc
