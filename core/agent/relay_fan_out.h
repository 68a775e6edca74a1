#pragma once
// On a relay replica: the replicas behind it that get a stream while the relay
// receives it. Each first hop gets the sender's frames as they arrive (no store
// and forward) over the relay's own connection; a hop whose link breaks drops
// out and is reported, the relay's own receive goes on.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/agent/agent_protocol.h"

namespace sc {

class AgentClient;
class RelayLinks;

class RelayFanOut {
public:
    using Route = std::vector<std::string>;
    // `request`: the sender's receive request; `routes`: hop URLs from here to each replica to feed.
    RelayFanOut(RelayLinks& links, const nlohmann::json& request, const std::vector<Route>& routes);
    // What the trailer must carry for the hops that took the stream (and those behind them).
    TransferChecksums checksumsWanted() const;
    void forward(const Frame& data);
    void end(const Frame& trailer);                 // pass the trailer on; replies are read by collect()
    nlohmann::json collect();                       // [{"route":[...]} or {"route":[...],"error":"..."}]
    void abort(const std::string& reason) noexcept; // the sender gave up: tell every hop still there

private:
    struct Hop {
        std::string url;
        AgentClient* agent = nullptr;
        std::string error; // set when the hop refused or its link broke
        TransferChecksums checksums; // what its answer to the announcement asked the trailer for
        std::map<Route, std::string> reports; // route below the hop -> error ("" = published)
    };
    void broken(Hop& hop, const std::string& error);

    RelayLinks& links_;
    std::vector<Route> routes_;
    std::vector<Hop> hops_;
};

} // namespace sc
