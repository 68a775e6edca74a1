#include "core/ledger/chain.h"

#include "core/base/error.h"
#include "core/base/hash.h"
#include "core/base/height_names.h"
#include "core/btrfs/subvolumes.h"
#include "core/footprint/footprint.h"
#include "core/ledger/chain_lock.h"
#include "core/ledger/commit.h"
#include "core/ledger/signing_key.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sc {

ChainPaths::ChainPaths(const std::string& chainRoot)
    : root(fs::absolute(chainRoot).lexically_normal().string()) {
    if (root.size() > 1 && root.back() == '/')
        root.pop_back();
    data = root + "/data";
    blocks = root + "/blocks";
    meta = root + "/.streamchain";
    footprints = meta + "/footprints";
    identity = meta + "/chain.json";
    key = meta + "/chain.key";
    lock = meta + "/lock";
}

std::string ChainPaths::block(std::uint64_t height) const { return blocks + "/" + heightName(height); }
static constexpr const char* kStagingPrefix = ".staging-";

std::string ChainPaths::stagingBlock(std::uint64_t height) const {
    return blocks + "/" + kStagingPrefix + heightName(height) + "-" + randomHex(4);
}

Chain::Chain(ChainPaths paths, ChainIdentity identity) : paths_(std::move(paths)), identity_(std::move(identity)) {}

std::string Chain::label() const {
    return "chain " + (identity_.name.empty() ? identity_.id.substr(0, 8) : identity_.name) + " (" + paths_.root +
           ")";
}

Chain Chain::open(const std::string& root) {
    ChainPaths paths(root);
    if (!fs::is_directory(paths.root))
        throw Error(paths.root + " does not exist or is not a directory", ExitCode::NotAChain);
    if (!fs::exists(paths.identity))
        throw Error(paths.root + " is not a streamchain chain (no .streamchain/chain.json)", ExitCode::NotAChain);
    if (!btrfs::isSubvolume(paths.data))
        throw Error(paths.root + " is damaged: data/ is missing or not a subvolume", ExitCode::NotAChain);
    return Chain(paths, ChainIdentity::load(paths.identity));
}

std::vector<std::uint64_t> Chain::heights() const {
    std::vector<std::uint64_t> result;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(paths_.blocks, ec)) {
        std::uint64_t height = 0;
        if (parseHeightName(entry.path().filename().string(), height))
            result.push_back(height);
    }
    if (ec)
        throw Error("cannot list blocks of " + label() + ": " + ec.message());
    std::sort(result.begin(), result.end());
    return result;
}

std::optional<std::uint64_t> Chain::tip() const {
    auto all = heights();
    if (all.empty())
        return std::nullopt;
    return all.back();
}

BlockHeader Chain::header(std::uint64_t height) const { return readBlockHeader(paths_.block(height)); }

SigningKey Chain::signingKey() const { return SigningKey::load(paths_.key); }

FootprintOptions Chain::footprintOptions() const { return footprintOptionsOf(identity_); }

void Chain::cleanStaging() const {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(paths_.blocks, ec))
        if (entry.path().filename().string().rfind(kStagingPrefix, 0) == 0)
            btrfs::removeTree(entry.path().string());
    footprintRecords().removeUnfinished();
}

namespace {

// Undo a half-done init: the chain directory is built under a temporary name
// and renamed into place only when complete.
struct InitScratch {
    std::string path;
    bool keep = false;
    ~InitScratch() {
        if (keep || path.empty())
            return;
        try {
            btrfs::removeTree(path);
        } catch (const Error&) {
        }
    }
};

} // namespace

Chain Chain::init(const std::string& root, const InitOptions& options) {
    ChainPaths paths(root);
    fs::path target(paths.root);
    std::string parent = target.parent_path().string();

    std::error_code ec;
    if (fs::exists(fs::symlink_status(target))) {
        if (fs::exists(paths.identity))
            throw Error(paths.root + " is already a streamchain chain", ExitCode::NotAChain);
        if (!fs::is_directory(target))
            throw Error(paths.root + " exists and is not a directory", ExitCode::NotAChain);
        if (!fs::is_empty(target, ec))
            throw Error(paths.root + " is not empty; a chain needs an empty or new directory", ExitCode::NotAChain);
    }
    if (!fs::is_directory(parent))
        throw Error("cannot create chain: " + parent + " does not exist", ExitCode::NotAChain);
    if (!btrfs::isOnBtrfs(parent))
        throw Error("cannot create chain: " + parent + " is not on a btrfs filesystem", ExitCode::NotAChain);
    if (::access(parent.c_str(), W_OK) != 0)
        throw Error("cannot create chain: " + parent + " is not writable", ExitCode::NotAChain);
    parseHashAlgorithm(options.hashAlgorithm);
    if (!knownFootprintFormat(options.footprintFormat))
        throw Error("unknown footprint format " + std::to_string(options.footprintFormat) + " (known: 1, 2)",
                    ExitCode::Usage);

    InitScratch scratch;
    scratch.path = parent + "/." + target.filename().string() + ".init-" + randomHex(4);
    ChainPaths work(scratch.path);
    fs::create_directory(work.root);
    fs::create_directories(work.footprints);
    fs::create_directory(work.blocks);
    btrfs::createSubvolume(work.data);

    SigningKey key = SigningKey::generate();
    key.save(work.key);
    ChainIdentity identity;
    identity.id = randomHex(16);
    identity.name = options.name.empty() ? target.filename().string() : options.name;
    identity.hashAlgorithm = options.hashAlgorithm;
    identity.footprintFormat = options.footprintFormat;
    identity.features = kFootprintAllFeatures;
    identity.publicKey = key.publicKeyHex();
    identity.created = utcTimestampNow();
    identity.save(work.identity);

    {
        Chain scratchChain(work, identity);
        CommitRequest genesis;
        genesis.message = "genesis";
        commitBlock(scratchChain, genesis);
    }

    // Into place: rename over an empty directory is atomic, and subvolumes move with their parent.
    if (::rename(work.root.c_str(), paths.root.c_str()) != 0)
        throwSystemError("cannot move new chain into place at " + paths.root, errno);
    scratch.keep = true;
    return open(paths.root);
}

} // namespace sc
