#pragma once
// A chain on disk:
//   CHAIN/data/                   the working subvolume
//   CHAIN/blocks/<height>         read-only snapshots, 12-digit zero-padded names
//   CHAIN/blocks/.staging-*       blocks being made (btrfs cannot move a read-only
//                                 snapshot to another directory, only rename it in place)
//   CHAIN/.streamchain/           identity (chain.json), key (chain.key, 0600), lock,
//                                 footprints/ (every block's footprint tree)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/footprint/footprint_records.h"
#include "core/ledger/block_header.h"
#include "core/ledger/block_header_file.h"
#include "core/ledger/chain_identity.h"

namespace sc {

class SigningKey;
struct FootprintOptions;

struct ChainPaths {
    std::string root;
    std::string data, blocks, meta, footprints;
    std::string identity, key, lock;

    explicit ChainPaths(const std::string& chainRoot);
    std::string block(std::uint64_t height) const;
    std::string stagingBlock(std::uint64_t height) const; // a fresh hidden name under blocks/
};

struct InitOptions {
    std::string name;
    std::string hashAlgorithm = "sha256";
    std::uint32_t footprintFormat = kNewestFootprintFormat;
};

class Chain {
public:
    // Opens an existing chain; throws sc::Error(ExitCode::NotAChain) naming what is missing.
    static Chain open(const std::string& root);
    // Creates a chain with its genesis block; on failure nothing is left behind.
    static Chain init(const std::string& root, const InitOptions& options);

    const ChainPaths& paths() const { return paths_; }
    const ChainIdentity& identity() const { return identity_; }
    std::string label() const; // for messages: "chain NAME (PATH)"

    // Complete blocks only: names of 12 digits under blocks/ (staging never shows here).
    std::vector<std::uint64_t> heights() const;
    std::optional<std::uint64_t> tip() const;
    BlockHeader header(std::uint64_t height) const;
    SigningKey signingKey() const;
    FootprintOptions footprintOptions() const; // hash algorithm and feature mask of this chain
    FootprintRecords footprintRecords() const { return FootprintRecords(paths_.footprints); }

    // Delete half-made blocks left by a killed commit. Call with the chain lock held.
    void cleanStaging() const;

private:
    Chain(ChainPaths paths, ChainIdentity identity);
    ChainPaths paths_;
    ChainIdentity identity_;
};

} // namespace sc
