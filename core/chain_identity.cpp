#include "core/chain_identity.h"

#include "core/error.h"
#include "core/hash.h"

#include <cerrno>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace sc {

using nlohmann::json;

std::string randomHex(std::size_t bytes) {
    std::vector<std::uint8_t> raw(bytes);
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
        throw Error("cannot read random bytes");
    return toHex(std::span<const std::uint8_t>(raw));
}

void writeFileAtomically(const std::string& path, const std::string& contents, unsigned mode) {
    std::string temp = path + ".tmp-" + randomHex(4);
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        throwSystemError("cannot create " + temp, errno);
    std::size_t done = 0;
    while (done < contents.size()) {
        ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            ::unlink(temp.c_str());
            throwSystemError("cannot write " + path, err);
        }
        done += static_cast<std::size_t>(n);
    }
    if (fsync(fd) != 0 || ::close(fd) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        throwSystemError("cannot write " + path, err);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        throwSystemError("cannot replace " + path, err);
    }
}

std::string readSmallFile(const std::string& path, std::size_t limit) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throwSystemError("cannot open " + path, errno);
    try {
        std::string out = readAllFrom(fd, path, limit);
        ::close(fd);
        return out;
    } catch (...) {
        ::close(fd);
        throw;
    }
}

std::string readAllFrom(int fd, const std::string& what, std::size_t limit) {
    std::string out;
    char buffer[16384];
    while (true) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throwSystemError("cannot read " + what, errno);
        if (n == 0)
            return out;
        out.append(buffer, static_cast<std::size_t>(n));
        if (out.size() > limit)
            throw Error(what + " is unexpectedly large");
    }
}

ChainIdentity ChainIdentity::load(const std::string& file) {
    json j = json::parse(readSmallFile(file), nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error("chain identity " + file + " is not valid JSON", ExitCode::NotAChain);
    ChainIdentity identity;
    try {
        identity.format = j.at("format").get<std::uint32_t>();
        if (identity.format != kChainFormat)
            throw Error("chain identity " + file + " has unsupported format " + std::to_string(identity.format));
        identity.id = j.at("id").get<std::string>();
        identity.name = j.at("name").get<std::string>();
        identity.hashAlgorithm = j.at("hash_algorithm").get<std::string>();
        identity.footprintFormat = j.at("footprint_format").get<std::uint32_t>();
        identity.features = j.at("features").get<std::uint32_t>();
        identity.publicKey = j.at("public_key").get<std::string>();
        identity.created = j.at("created").get<std::string>();
    } catch (const json::exception& e) {
        throw Error("chain identity " + file + " is malformed: " + e.what(), ExitCode::NotAChain);
    }
    return identity;
}

void ChainIdentity::save(const std::string& file) const {
    json j = {{"format", format},
              {"id", id},
              {"name", name},
              {"hash_algorithm", hashAlgorithm},
              {"footprint_format", footprintFormat},
              {"features", features},
              {"public_key", publicKey},
              {"created", created}};
    writeFileAtomically(file, j.dump(2) + "\n");
}

} // namespace sc
