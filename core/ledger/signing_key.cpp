#include "core/ledger/signing_key.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/base/hash.h"

#include <cerrno>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace sc {

struct SigningKey::Key {
    EVP_PKEY* pkey = nullptr;
    ~Key() { EVP_PKEY_free(pkey); }
};

SigningKey::SigningKey(std::unique_ptr<Key> key) : key_(std::move(key)) {}
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;

SigningKey SigningKey::generate() {
    auto key = std::make_unique<Key>();
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &key->pkey) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        throw Error("cannot generate an Ed25519 key pair");
    return SigningKey(std::move(key));
}

SigningKey SigningKey::load(const std::string& pemFile) {
    FileDescriptor fd(::open(pemFile.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd)
        throwSystemError("cannot open chain key " + pemFile, errno);
    struct stat st {};
    fstat(fd.get(), &st);
    if ((st.st_mode & 077) != 0)
        throw Error("chain key " + pemFile + " is readable by others (mode " +
                    std::to_string(st.st_mode & 0777) + "); it must be 0600");
    FILE* file = fdopen(fd.release(), "r"); // fclose closes it
    auto key = std::make_unique<Key>();
    key->pkey = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
    fclose(file);
    if (!key->pkey || EVP_PKEY_get_id(key->pkey) != EVP_PKEY_ED25519)
        throw Error("chain key " + pemFile + " is not an Ed25519 private key");
    return SigningKey(std::move(key));
}

void SigningKey::save(const std::string& pemFile) const {
    int fd = ::open(pemFile.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        throwSystemError("cannot create chain key " + pemFile, errno);
    fchmod(fd, 0600); // independent of the umask
    FILE* file = fdopen(fd, "w");
    bool ok = PEM_write_PrivateKey(file, key_->pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    ok = fflush(file) == 0 && fsync(fd) == 0 && ok;
    fclose(file);
    if (!ok)
        throw Error("cannot write chain key " + pemFile);
}

std::string SigningKey::publicKeyHex() const {
    unsigned char raw[32];
    std::size_t length = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key_->pkey, raw, &length) != 1)
        throw Error("cannot read the chain's public key");
    return toHex(std::span<const std::uint8_t>(raw, length));
}

std::string SigningKey::sign(std::string_view message) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::string signature(64, '\0');
    std::size_t length = signature.size();
    bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_->pkey) == 1 &&
              EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                             reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        throw Error("cannot sign block header");
    signature.resize(length);
    return signature;
}

bool verifyEd25519(std::string_view publicKeyHex, std::string_view message, std::string_view signature) {
    Digest raw;
    try {
        raw = Digest::fromHex(publicKeyHex);
    } catch (const Error&) {
        return false;
    }
    if (raw.size != 32 || signature.size() != 64)
        return false;
    EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.bytes.data(), raw.size);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = pkey && ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                               reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return ok;
}

} // namespace sc
