#include "core/daemon/control_queries.h"

#include "core/base/error.h"
#include "core/ledger/block_changes.h"
#include "core/ledger/chain.h"
#include "core/messages/block_messages.h"
#include "core/messages/wire_names.h"

namespace sc {

namespace {

nlohmann::json summary(const Chain& chain, std::uint64_t height) {
    BlockHeader header = chain.header(height);
    return blockSummaryJson(header, header.signatureValid(chain.identity().publicKey));
}

} // namespace

nlohmann::json blockList(const Chain& chain, std::size_t limit) {
    std::vector<std::uint64_t> heights = chain.heights();
    std::size_t first = heights.size() > limit ? heights.size() - limit : 0;
    nlohmann::json blocks = nlohmann::json::array();
    for (std::size_t i = first; i < heights.size(); ++i)
        blocks.push_back(summary(chain, heights[i]));
    return {{wire::kOk, true},
            {wire::kChain, chain.paths().root},
            {wire::kName, chain.identity().name},
            {wire::kBlocks, blocks}};
}

nlohmann::json blockDetail(const Chain& chain, std::uint64_t height) {
    if (!chain.tip() || height > *chain.tip())
        throw Error("block " + std::to_string(height) + " does not exist in " + chain.label(), ExitCode::Usage);
    nlohmann::json detail = summary(chain, height);
    detail[wire::kHeader] = chain.header(height).toJson();
    detail[wire::kChanges] = blockChangesJson(blockChanges(chain, height));
    detail[wire::kOk] = true;
    return detail;
}

} // namespace sc
