#include "core/ledger/chain_verify.h"

#include "core/base/error.h"
#include "core/btrfs/subvolumes.h"
#include "core/footprint/footprint.h"
#include "core/ledger/chain.h"

#include <filesystem>
#include <map>
#include <optional>

namespace sc {

namespace {

// Streamchain before 0.2 footprinted a change made through one name of a hard-linked
// file under that name only; the record it signed then holds the new digest under one
// name and the old one under the others. Each differing path is then a file whose
// actual digest is what the record holds for another name of the same inode.
bool explainedByStaleHardLinks(const FootprintTree& recorded, const FootprintTree& actual,
                               const std::vector<FootprintDifference>& differences) {
    std::multimap<std::uint64_t, std::string> namesOfLinked;
    for (const auto& [path, entry] : actual.entries())
        if (entry.type == EntryType::File && entry.nlink > 1)
            namesOfLinked.emplace(entry.inode, path);
    for (const auto& difference : differences) {
        const FootprintEntry* now = actual.find(difference.path);
        if (difference.kind != DifferenceKind::Changed || !now || now->type != EntryType::File || now->nlink < 2)
            return false;
        bool siblingRecordedRight = false;
        auto [from, to] = namesOfLinked.equal_range(now->inode);
        for (auto it = from; it != to && !siblingRecordedRight; ++it) {
            const FootprintEntry* sibling = recorded.find(it->second);
            siblingRecordedRight = it->second != difference.path && sibling && sibling->digest == now->digest;
        }
        if (!siblingRecordedRight)
            return false;
    }
    return !differences.empty();
}

BlockFinding contentFinding(const Chain& chain, std::uint64_t height, const BlockHeader& header,
                            const FootprintTree& actual) {
    BlockFinding finding{height, "contents differ from the signed footprint", {}, {}};
    std::optional<FootprintTree> recorded = chain.footprintRecords().load(height);
    if (!recorded) {
        finding.problem += " (no footprint record here to name the paths; compare with a replica)";
        return finding;
    }
    std::vector<FootprintDifference> differences = diffFootprints(*recorded, actual);
    for (const auto& difference : differences)
        finding.paths.push_back(difference.path);
    if (recorded->root().hex() != header.contentRoot) {
        finding.problem += " (the footprint record does not match the header either; the paths are where the "
                           "contents differ from the record)";
    } else if (explainedByStaleHardLinks(*recorded, actual, differences)) {
        finding.problem = "signed with a stale footprint: a hard-linked file changed through another name was "
                          "footprinted under one name only (a defect of streamchain before 0.2); the contents agree "
                          "with the file's other names, so this is not tampering";
        finding.advice = "no replica can verify this block's signed root; keep this chain as a read-only archive "
                         "and start a new chain from its data (streamchain init, then commit)";
    }
    return finding;
}

} // namespace

ChainVerifyReport verifyChain(const Chain& chain, bool deep, const std::function<void(std::uint64_t)>& onBlock) {
    ChainVerifyReport report;
    const ChainIdentity& identity = chain.identity();
    std::vector<std::uint64_t> heights = chain.heights();
    if (heights.empty() || heights.front() != 0)
        report.findings.push_back({0, "genesis block 0 is missing", {}, {}});

    std::string previousHash;
    std::uint64_t expectedHeight = heights.empty() ? 0 : heights.front();
    for (std::uint64_t height : heights) {
        if (onBlock)
            onBlock(height);
        ++report.blocksChecked;
        auto problem = [&](const std::string& text, std::vector<std::string> paths = {}) {
            report.findings.push_back({height, text, std::move(paths), {}});
        };
        for (; expectedHeight < height; ++expectedHeight)
            report.findings.push_back({expectedHeight, "block is missing (gap in the chain)", {}, {}});
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
        try {
            checkHeaderDirectory(path);
        } catch (const Error& e) {
            problem(std::string(e.what()) + " (outside the footprint: only the header may be there)");
        }
        if (header.chainId != identity.id)
            problem("header belongs to chain " + header.chainId);
        if (header.height != height)
            problem("header says height " + std::to_string(header.height));
        if (std::string mismatch = footprintSettingsMismatch(header, identity); !mismatch.empty())
            problem(mismatch);
        if (!header.signatureValid(identity.publicKey))
            problem("signature does not verify with the chain's public key");
        if (height == 0 ? !header.previous.empty() : (!previousHash.empty() && header.previous != previousHash))
            problem("broken link: previous hash " + header.previous.substr(0, 16) + " does not match block " +
                    std::to_string(height - 1));
        previousHash = header.hash().hex();

        if (deep) {
            // The root alone is kept; only a block that fails is walked again, into memory, to name paths.
            FootprintStats stats;
            DiscardingSink entries;
            FootprintResult result = walkFootprint(path, chain.footprintOptions(), entries, &stats);
            report.bytesHashed += stats.bytesHashed;
            if (result.root.hex() != header.contentRoot)
                report.findings.push_back(
                    contentFinding(chain, height, header, computeFootprint(path, chain.footprintOptions())));
        }
    }
    return report;
}

} // namespace sc
