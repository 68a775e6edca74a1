#include "core/agent/relay_fan_out.h"

#include "core/agent/agent_client.h"
#include "core/agent/relay_links.h"
#include "core/base/error.h"

#include <algorithm>

namespace sc {

RelayFanOut::RelayFanOut(RelayLinks& links, const nlohmann::json& request, const std::vector<Route>& routes)
    : links_(links), routes_(routes) {
    // One stream per first hop: it keeps the blocks if a route ends there, and feeds the rest on.
    std::map<std::string, std::vector<Route>> below;
    std::map<std::string, bool> keeps;
    for (const Route& route : routes) {
        if (route.empty())
            throw Error("agent: a relay route must name at least one replica");
        keeps[route.front()] = keeps[route.front()] || route.size() == 1;
        if (route.size() > 1)
            below[route.front()].emplace_back(route.begin() + 1, route.end());
    }
    for (const auto& [url, keep] : keeps) {
        Hop hop;
        hop.url = url;
        nlohmann::json announce = request;
        announce.erase("route");
        announce.erase("spool_key");
        announce.erase("resume_from");
        announce["keep"] = keep;
        announce["relay"] = nlohmann::json::array();
        for (const Route& route : below[url])
            announce["relay"].push_back({{"route", route}});
        try {
            hop.agent = &links_.link(url);
            hop.agent->sendFrame(FrameType::Request, toWire(announce));
            Frame ready = hop.agent->nextFrame("relaying a stream");
            if (ready.type == FrameType::Failure)
                hop.error = ready.json(url).value("error", std::string("refused"));
            else if (ready.type != FrameType::Reply)
                hop.error = "protocol error: no answer to the stream announcement";
            else
                hop.checksums = trailerChecksumsOf(ready.json(url));
        } catch (const Error& e) {
            broken(hop, e.what());
        }
        if (!hop.error.empty())
            hop.agent = nullptr;
        hops_.push_back(std::move(hop));
    }
}

TransferChecksums RelayFanOut::checksumsWanted() const {
    TransferChecksums wanted;
    for (const Hop& hop : hops_)
        if (hop.agent)
            wanted |= hop.checksums;
    return wanted;
}

void RelayFanOut::broken(Hop& hop, const std::string& error) {
    hop.error = error;
    hop.agent = nullptr;
    links_.drop(hop.url); // the connection is unusable; the next session reconnects
}

void RelayFanOut::forward(const Frame& data) {
    for (Hop& hop : hops_) {
        if (!hop.agent)
            continue;
        try {
            hop.agent->sendFrame(data.type, data.payload);
        } catch (const Error& e) {
            broken(hop, e.what());
        }
    }
}

void RelayFanOut::end(const Frame& trailer) { forward(trailer); }

nlohmann::json RelayFanOut::collect() {
    for (Hop& hop : hops_) {
        if (!hop.agent)
            continue;
        try {
            Frame reply = hop.agent->nextFrame("relaying a stream");
            if (reply.type != FrameType::Reply && reply.type != FrameType::Failure)
                throw Error("protocol error: expected the result of the stream");
            nlohmann::json body = reply.json(hop.url);
            std::string ownError = reply.type == FrameType::Failure ? body.value("error", std::string("failed")) : "";
            if (body.value("published", nlohmann::json::array()).size() > 0 || !ownError.empty())
                hop.reports[{}] = ownError;
            for (const auto& entry : body.value("relayed", nlohmann::json::array()))
                hop.reports[entry.value("route", Route())] = entry.value("error", std::string());
        } catch (const Error& e) {
            broken(hop, e.what());
        }
    }
    nlohmann::json results = nlohmann::json::array();
    for (const Route& route : routes_) {
        auto hop = std::find_if(hops_.begin(), hops_.end(), [&](const Hop& h) { return h.url == route.front(); });
        Route rest(route.begin() + 1, route.end());
        std::string error = "no report from " + route.front();
        if (!hop->error.empty())
            error = hop->error;
        else if (auto found = hop->reports.find(rest); found != hop->reports.end())
            error = found->second;
        nlohmann::json entry = {{"route", route}};
        if (!error.empty())
            entry["error"] = error;
        results.push_back(entry);
    }
    return results;
}

void RelayFanOut::abort(const std::string& reason) noexcept {
    Frame failure{FrameType::Failure, toWire(nlohmann::json{{"error", reason}, {"discard_spool", false}})};
    forward(failure);
}

} // namespace sc
