#include "core/chain_verify.h"

#include "core/btrfs.h"
#include "core/chain.h"
#include "core/error.h"
#include "core/footprint.h"

#include <filesystem>

namespace sc {

ChainVerifyReport verifyChain(const Chain& chain, bool deep, const std::function<void(std::uint64_t)>& onBlock) {
    ChainVerifyReport report;
    const ChainIdentity& identity = chain.identity();
    std::vector<std::uint64_t> heights = chain.heights();
    if (heights.empty() || heights.front() != 0)
        report.findings.push_back({0, "genesis block 0 is missing", {}});

    std::string previousHash;
    std::uint64_t expectedHeight = heights.empty() ? 0 : heights.front();
    for (std::uint64_t height : heights) {
        if (onBlock)
            onBlock(height);
        ++report.blocksChecked;
        auto problem = [&](const std::string& text, std::vector<std::string> paths = {}) {
            report.findings.push_back({height, text, std::move(paths)});
        };
        for (; expectedHeight < height; ++expectedHeight)
            report.findings.push_back({expectedHeight, "block is missing (gap in the chain)", {}});
        expectedHeight = height + 1;

        const std::string path = chain.paths().block(height);
        BlockHeader header;
        try {
            if (!btrfs::isSubvolume(path) || !btrfs::subvolumeInfo(path).readOnly)
                problem("not a read-only snapshot");
            header = readBlockHeader(path);
        } catch (const Error& e) {
            problem(std::string("header unreadable: ") + e.what());
            previousHash.clear();
            continue;
        }
        if (header.chainId != identity.id)
            problem("header belongs to chain " + header.chainId);
        if (header.height != height)
            problem("header says height " + std::to_string(header.height));
        if (!header.signatureValid(identity.publicKey))
            problem("signature does not verify with the chain's public key");
        if (height == 0 ? !header.previous.empty() : (!previousHash.empty() && header.previous != previousHash))
            problem("broken link: previous hash " + header.previous.substr(0, 16) + " does not match block " +
                    std::to_string(height - 1));
        previousHash = header.hash().hex();

        if (deep) {
            FootprintStats stats;
            FootprintTree tree = computeFootprint(path, chain.footprintOptions(), &stats);
            report.bytesHashed += stats.bytesHashed;
            if (tree.root().hex() != header.contentRoot) {
                std::vector<std::string> paths;
                if (auto recorded = chain.footprintRecords().load(height))
                    for (const auto& difference : diffFootprints(*recorded, tree))
                        paths.push_back(difference.path);
                problem(paths.empty() ? "contents differ from the signed footprint (no footprint record here to "
                                        "name the paths; compare with a replica)"
                                      : "contents differ from the signed footprint",
                        std::move(paths));
            }
        }
    }
    return report;
}

} // namespace sc
