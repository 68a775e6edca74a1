#include "core/endpoints/endpoint_pool.h"

#include "core/base/error.h"
#include "core/endpoints/remote_endpoint.h"

#include <algorithm>

namespace sc {

TargetRef relayRef(const TargetRef& target, std::size_t index) {
    TargetRef relay{target.relays.at(index).spec, target.relays.at(index).options, {}};
    relay.relays.assign(target.relays.begin(), target.relays.begin() + static_cast<std::ptrdiff_t>(index));
    return relay;
}

ReplicaEndpoint& EndpointPool::get(const TargetRef& target) {
    auto found = entries_.find(target.spec.text);
    if (found != entries_.end())
        return *found->second.endpoint;
    Entry entry;
    entry.endpoint = open(target);
    for (const auto& relay : target.relays)
        entry.relays.push_back(relay.spec.text);
    return *entries_.emplace(target.spec.text, std::move(entry)).first->second.endpoint;
}

std::shared_ptr<ReplicaEndpoint> EndpointPool::open(const TargetRef& target) {
    if (target.relays.empty())
        return openEndpoint(target.spec, chain_, target.options);
    const TargetRef relay = relayRef(target, target.relays.size() - 1);
    get(relay);
    auto relayEndpoint = std::dynamic_pointer_cast<RemoteEndpoint>(entries_.at(relay.spec.text).endpoint);
    if (!relayEndpoint || target.spec.kind != TargetSpec::Kind::Ssh || target.options.plain)
        throw Error(target.spec.text + ": only an ssh:// replica served by the streamchain agent can relay to another "
                                       "one (through " + relay.spec.text + ")");
    DownstreamSpec downstream{targetUrl(target.spec), target.options.acceptHostKey, target.options.agentPath,
                              target.options.deployAgent};
    return std::make_shared<RemoteEndpoint>(relayEndpoint, target.spec, chain_, downstream);
}

void EndpointPool::adopt(const std::string& key, std::shared_ptr<ReplicaEndpoint> endpoint) {
    entries_[key] = Entry{std::move(endpoint), {}};
}

void EndpointPool::drop(const std::string& key) {
    std::erase_if(entries_, [&](const auto& item) {
        const auto& relays = item.second.relays;
        return item.first == key || std::find(relays.begin(), relays.end(), key) != relays.end();
    });
}

} // namespace sc
