#pragma once
// Which connections carry one stream to a set of targets. The primary opens one
// stream per first hop: a target it reaches directly, or the outermost relay of
// targets behind relays; that replica passes the stream on to the targets behind
// it while it receives (and keeps the blocks itself if it is a target too).
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/endpoints/replica_endpoint.h"

namespace sc {

struct RiderRoute {
    std::size_t target = 0;          // index into the targets
    std::vector<std::string> route;  // hop URLs from the entry replica down to the target
};

struct StreamRoute {
    TargetRef entry;                 // where the primary sends: a target, or the outermost relay of some
    std::optional<std::size_t> own;  // the target that `entry` is, if it receives this stream
    std::vector<RiderRoute> riders;  // targets behind `entry`
};

// `receivers`: indexes into `targets` of those that get this stream, in order.
std::vector<StreamRoute> routeStream(const std::vector<TargetRef>& targets, const std::vector<std::size_t>& receivers);

} // namespace sc
