#pragma once
// Read-only answers the daemon gives about a chain (for the console, which does
// not read chain files itself): the block list and one block in detail.
#include <cstdint>
#include <nlohmann/json.hpp>

namespace sc {

class Chain;

// The newest `limit` blocks, oldest first: height, hash, time, message, operations,
// counts, signature state.
nlohmann::json blockList(const Chain& chain, std::size_t limit);
// One block: its whole header, hash, signature state and the paths it changed.
nlohmann::json blockDetail(const Chain& chain, std::uint64_t height);

} // namespace sc
