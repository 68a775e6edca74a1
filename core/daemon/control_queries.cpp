#include "core/daemon/control_queries.h"

#include "core/base/error.h"
#include "core/footprint/footprint_tree.h"
#include "core/ledger/block_changes.h"
#include "core/ledger/chain.h"

namespace sc {

namespace {

nlohmann::json summary(const Chain& chain, std::uint64_t height) {
    BlockHeader header = chain.header(height);
    nlohmann::json j = {{"height", height},
                        {"hash", header.hash().hex()},
                        {"previous", header.previous},
                        {"time", header.timestamp},
                        {"message", header.message},
                        {"operations", header.operations},
                        {"elements", header.elements},
                        {"bytes", header.counts.bytes},
                        {"files", header.counts.files},
                        {"signature_valid", header.signatureValid(chain.identity().publicKey)}};
    return j;
}

} // namespace

nlohmann::json blockList(const Chain& chain, std::size_t limit) {
    std::vector<std::uint64_t> heights = chain.heights();
    std::size_t first = heights.size() > limit ? heights.size() - limit : 0;
    nlohmann::json blocks = nlohmann::json::array();
    for (std::size_t i = first; i < heights.size(); ++i)
        blocks.push_back(summary(chain, heights[i]));
    return {{"ok", true}, {"chain", chain.paths().root}, {"name", chain.identity().name}, {"blocks", blocks}};
}

nlohmann::json blockDetail(const Chain& chain, std::uint64_t height) {
    if (!chain.tip() || height > *chain.tip())
        throw Error("block " + std::to_string(height) + " does not exist in " + chain.label(), ExitCode::Usage);
    nlohmann::json detail = summary(chain, height);
    detail["header"] = chain.header(height).toJson();
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& change : blockChanges(chain, height))
        changes.push_back({{"kind", pathChangeKindName(change.kind)}, {"path", displayPath(change.path)}});
    detail["changes"] = changes;
    detail["ok"] = true;
    return detail;
}

} // namespace sc
