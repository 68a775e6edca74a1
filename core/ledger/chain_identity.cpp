#include "core/ledger/chain_identity.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/base/hash.h"
#include "core/ledger/block_header.h"

#include <cerrno>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace sc {

using nlohmann::json;

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

std::string footprintSettingsMismatch(const BlockHeader& header, const ChainIdentity& chain) {
    if (header.footprintFormat == chain.footprintFormat && header.hashAlgorithm == chain.hashAlgorithm &&
        header.features == chain.features)
        return {};
    auto settings = [](std::uint32_t format, const std::string& algorithm, std::uint32_t features) {
        return std::to_string(format) + " (" + algorithm + ", features " + std::to_string(features) + ")";
    };
    return "header declares footprint format " + settings(header.footprintFormat, header.hashAlgorithm, header.features) +
           ", the chain's is " + settings(chain.footprintFormat, chain.hashAlgorithm, chain.features);
}

FootprintOptions footprintOptionsOf(const ChainIdentity& chain) {
    FootprintOptions options;
    options.algorithm = parseHashAlgorithm(chain.hashAlgorithm);
    options.features = chain.features;
    if (!knownFootprintFormat(chain.footprintFormat))
        throw Error("chain " + chain.name + " uses footprint format " + std::to_string(chain.footprintFormat) +
                    ", which this streamchain does not know (it knows 1 and 2); upgrade streamchain");
    options.format = chain.footprintFormat;
    return options;
}

} // namespace sc
