#pragma once
// Checking a chain: every link, height and signature; with `deep`, every block's contents.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sc {

class Chain;

struct BlockFinding {
    std::uint64_t height = 0;
    std::string problem;
    std::vector<std::string> paths; // raw paths whose contents differ (deep only)
    std::string advice;             // what an operator should do, when we know
};

struct ChainVerifyReport {
    std::uint64_t blocksChecked = 0;
    std::uint64_t bytesHashed = 0;
    std::vector<BlockFinding> findings;
    bool ok() const { return findings.empty(); }
};

ChainVerifyReport verifyChain(const Chain& chain, bool deep,
                              const std::function<void(std::uint64_t height)>& onBlock = {});

} // namespace sc
