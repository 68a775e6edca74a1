#pragma once
// Which block goes to which target, with which parent. Pure logic.
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

namespace sc {

struct SendStep {
    std::uint64_t height = 0;
    std::optional<std::uint64_t> parent; // incremental from this block; none = full stream
    std::vector<std::size_t> targets;    // indexes into the caller's target list: one send feeds them all
};

// Every block up to `upto` that a target lacks is sent in height order. The parent
// is the newest lower block the target holds (matched by UUID by the caller), so
// a target missing blocks in the middle is repaired too. Targets that need the
// same (height, parent) share one step: a fan-out.
std::vector<SendStep> planSends(const std::vector<std::uint64_t>& primaryHeights,
                                std::vector<std::set<std::uint64_t>> held, std::uint64_t upto, bool full);

} // namespace sc
