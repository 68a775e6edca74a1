#include "core/footprint/recorded_footprint.h"

#include "core/btrfs/kernel_diff.h"

namespace sc {

RecordedFootprint recordFootprint(const FootprintRecords& records, std::uint64_t height, const std::string& root,
                                  std::optional<std::uint64_t> parentHeight, const std::string& parentRoot,
                                  const FootprintOptions& options, FootprintStats* stats) {
    RecordedFootprint footprint;
    if (std::unique_ptr<EntrySource> parentEntries = parentHeight ? records.openReusable(*parentHeight) : nullptr) {
        try {
            std::uint64_t metadataBytes = 0;
            ChangeSet changes = kernelDiff(parentRoot, root, &metadataBytes, 2, kDiffPathsWorthKeeping);
            footprint.diffStreamBytes = metadataBytes + changes.dataBytes;
            footprint.record = records.startRecord(height, recordSettingsOf(options));
            footprint.result = walkFootprintUpdate(root, parentRoot,
                                                   records.reopening(*parentHeight, std::move(parentEntries)), changes,
                                                   options, *footprint.record, stats);
            footprint.record->finish(footprint.result.root);
            footprint.derivedFromParent = true;
            return footprint;
        } catch (const UnhashableBlock&) {
            throw;
        } catch (const Error&) {
            footprint = RecordedFootprint{};
            if (stats)
                *stats = FootprintStats{}; // the full walk below counts afresh
        }
    }
    footprint.record = records.startRecord(height, recordSettingsOf(options));
    footprint.result = walkFootprint(root, options, *footprint.record, stats);
    footprint.record->finish(footprint.result.root);
    return footprint;
}

} // namespace sc
