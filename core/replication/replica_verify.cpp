#include "core/replication/replica_verify.h"

#include "core/base/error.h"
#include "core/btrfs/subvolumes.h"
#include "core/endpoints/replica_endpoint.h"
#include "core/footprint/footprint.h"
#include "core/ledger/chain.h"

#include <filesystem>
#include <map>

namespace sc {

const char* replicaBlockStateName(ReplicaBlockState state) {
    switch (state) {
    case ReplicaBlockState::Match:
        return "MATCH";
    case ReplicaBlockState::Mismatch:
        return "MISMATCH";
    case ReplicaBlockState::Missing:
        return "MISSING";
    case ReplicaBlockState::Foreign:
        return "FOREIGN";
    case ReplicaBlockState::Unhashed:
        return "UNHASHED";
    }
    return "?";
}

std::size_t ReplicaVerifyReport::count(ReplicaBlockState state) const {
    std::size_t n = 0;
    for (const auto& block : blocks)
        n += block.state == state ? 1 : 0;
    return n;
}

bool ReplicaVerifyReport::allMatch() const {
    return !blocks.empty() && count(ReplicaBlockState::Match) == blocks.size();
}

namespace {

// The primary's tree for naming paths: its record if there is one, else a re-hash.
FootprintTree primaryTree(const Chain& chain, std::uint64_t height) {
    if (auto recorded = chain.footprintRecords().load(height))
        return *recorded;
    return computeFootprint(chain.paths().block(height), chain.footprintOptions());
}

ReplicaBlockVerdict judge(const Chain& chain, std::uint64_t height, const BlockHeader& primaryHeader,
                          ReplicaEndpoint& replica, std::uint64_t replicaHeight) {
    ReplicaBlockVerdict verdict{height, ReplicaBlockState::Mismatch, {}, {}};
    BlockHeader header;
    try {
        header = BlockHeader::parse(replica.headerText(replicaHeight), "header of block " + std::to_string(height));
    } catch (const Error& e) {
        verdict.detail = std::string("header unreadable: ") + e.what();
        return verdict;
    }
    if (!header.signatureValid(chain.identity().publicKey)) {
        verdict.detail = "header signature does not verify with the chain's key";
        return verdict;
    }
    if (header.hash() != primaryHeader.hash()) {
        verdict.detail = "header differs from the primary's";
        return verdict;
    }
    if (!replica.canHash()) {
        verdict.state = ReplicaBlockState::Unhashed;
        verdict.detail = "header and received UUID match; contents not re-hashed (plain mode: no agent on the host)";
        return verdict;
    }
    try {
        if (replica.footprintRoot(replicaHeight) == primaryHeader.contentRoot) {
            verdict.state = ReplicaBlockState::Match;
            return verdict;
        }
    } catch (const UnhashableBlock& e) {
        verdict.detail = std::string("holds more than its header declares, not re-hashed: ") + e.what();
        return verdict;
    }
    for (const auto& difference : diffFootprints(primaryTree(chain, height), replica.footprintTree(replicaHeight)))
        verdict.paths.push_back(difference.path);
    verdict.detail = std::to_string(verdict.paths.size()) + " path(s) differ";
    return verdict;
}

} // namespace

ReplicaVerifyReport verifyReplica(const Chain& chain, ReplicaEndpoint& replica,
                                  const std::function<void(const ReplicaBlockVerdict&)>& onBlock) {
    replica.checkBinding(chain.identity());
    ReplicaVerifyReport report;
    report.target = replica.label();

    std::map<btrfs::Uuid, const ReplicaBlock*> byReceivedUuid;
    std::vector<ReplicaBlock> received = replica.blocks();
    for (const auto& block : received)
        if (!btrfs::isNullUuid(block.receivedUuid))
            byReceivedUuid[block.receivedUuid] = &block;

    std::map<btrfs::Uuid, std::uint64_t> primaryHeights;
    auto emit = [&](ReplicaBlockVerdict verdict) {
        if (onBlock)
            onBlock(verdict);
        report.blocks.push_back(std::move(verdict));
    };
    for (std::uint64_t height : chain.heights()) {
        btrfs::Uuid uuid = btrfs::subvolumeInfo(chain.paths().block(height)).uuid;
        primaryHeights[uuid] = height;
        auto found = byReceivedUuid.find(uuid);
        if (found == byReceivedUuid.end()) {
            emit({height, ReplicaBlockState::Missing, "not on the replica", {}});
            continue;
        }
        emit(judge(chain, height, chain.header(height), replica, found->second->height));
    }
    for (const auto& block : received) {
        auto match = primaryHeights.find(block.receivedUuid);
        if (match == primaryHeights.end())
            emit({block.height, ReplicaBlockState::Foreign, "not received from this chain (UUID matches no block)", {}});
        else if (match->second != block.height)
            emit({block.height, ReplicaBlockState::Foreign,
                  "holds block " + std::to_string(match->second) + " under the wrong name", {}});
    }
    return report;
}

} // namespace sc
