#include "core/replication/stream_routes.h"

#include "core/endpoints/endpoint_pool.h"

#include <map>

namespace sc {

std::vector<StreamRoute> routeStream(const std::vector<TargetRef>& targets, const std::vector<std::size_t>& receivers) {
    std::vector<StreamRoute> routes;
    std::map<std::string, std::size_t> byEntry; // entry key -> index in routes
    auto routeFor = [&](const TargetRef& entry) -> StreamRoute& {
        auto [it, added] = byEntry.emplace(entry.spec.text, routes.size());
        if (added)
            routes.push_back({entry, std::nullopt, {}});
        return routes[it->second];
    };
    for (std::size_t index : receivers) {
        const TargetRef& target = targets.at(index);
        if (target.relays.empty()) {
            routeFor(target).own = index;
            continue;
        }
        RiderRoute rider{index, {}};
        for (std::size_t hop = 1; hop < target.relays.size(); ++hop)
            rider.route.push_back(targetUrl(target.relays[hop].spec));
        rider.route.push_back(targetUrl(target.spec));
        routeFor(relayRef(target, 0)).riders.push_back(std::move(rider));
    }
    return routes;
}

} // namespace sc
