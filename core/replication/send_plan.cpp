#include "core/replication/send_plan.h"

#include <map>
#include <utility>

namespace sc {

std::vector<SendStep> planSends(const std::vector<std::uint64_t>& primaryHeights,
                                std::vector<std::set<std::uint64_t>> held, std::uint64_t upto, bool full) {
    std::vector<SendStep> steps;
    for (std::uint64_t height : primaryHeights) {
        if (height > upto)
            break;
        std::map<std::optional<std::uint64_t>, std::vector<std::size_t>> groups;
        for (std::size_t target = 0; target < held.size(); ++target) {
            auto& have = held[target];
            if (have.count(height))
                continue;
            std::optional<std::uint64_t> parent;
            auto below = have.lower_bound(height);
            if (!full && below != have.begin())
                parent = *std::prev(below);
            groups[parent].push_back(target);
            have.insert(height);
        }
        for (auto& [parent, targets] : groups)
            steps.push_back({height, parent, std::move(targets)});
    }
    return steps;
}

} // namespace sc
