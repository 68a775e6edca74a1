#pragma once
// The size of a block's send stream before it is sent: the progress total, the grouping
// of small blocks into one stream and the spool threshold depend on it. Asking the kernel
// (a metadata-only send) costs a walk of every changed inode, over a second for a large
// block, so commit records the size of the stream from the parent (it runs that diff
// anyway), a full stream is about the block's file bytes from its header, and only
// other pairs ask the kernel.
#include <cstdint>
#include <optional>
#include <string>

namespace sc {

class Chain;

// At commit: the stream from height - 1 to height carries `bytes`.
void recordStreamBytes(const Chain& chain, std::uint64_t height, std::uint64_t bytes);

// The stream of `height`, incremental from `parent` or full.
std::uint64_t estimateStreamBytes(const Chain& chain, std::uint64_t height, std::optional<std::uint64_t> parent,
                                  std::uint32_t protocol);

} // namespace sc
