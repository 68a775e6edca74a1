#pragma once
// The client side of the daemon's control socket (docs/control-protocol.md):
// one request, one reply, for `streamchain status` and friends.
#include <nlohmann/json.hpp>
#include <string>
#include <sys/un.h>

namespace sc {

// Throws sc::Error when the daemon is not running, does not answer within
// `timeoutMs`, or answers "ok": false (with its error text).
nlohmann::json controlRequest(const std::string& socketPath, const nlohmann::json& request, int timeoutMs = 10000);
std::string defaultControlSocket(); // /run/streamchain/control.sock
// The socket's address; throws sc::Error (usage) when the path does not fit one.
sockaddr_un controlSocketAddress(const std::string& socketPath);

} // namespace sc
