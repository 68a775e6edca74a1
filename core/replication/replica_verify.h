#pragma once
// Per block on one replica: MATCH, MISMATCH (with paths), MISSING or FOREIGN,
// from received UUIDs, the received header's signature and a re-hash of its contents.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sc {

class Chain;

// Unhashed: header and received UUID match, but the contents could not be re-hashed (plain mode).
enum class ReplicaBlockState { Match, Mismatch, Missing, Foreign, Unhashed };
const char* replicaBlockStateName(ReplicaBlockState state); // "MATCH", ...

struct ReplicaBlockVerdict {
    std::uint64_t height = 0; // for FOREIGN: the height its name claims
    ReplicaBlockState state = ReplicaBlockState::Missing;
    std::string detail;
    std::vector<std::string> paths; // raw paths that differ (MISMATCH)
};

struct ReplicaVerifyReport {
    std::string target;
    std::vector<ReplicaBlockVerdict> blocks;
    std::size_t count(ReplicaBlockState state) const;
    bool allMatch() const; // every primary block MATCH, nothing FOREIGN
};

class ReplicaEndpoint;
ReplicaVerifyReport verifyReplica(const Chain& chain, ReplicaEndpoint& replica,
                                  const std::function<void(const ReplicaBlockVerdict&)>& onBlock = {});

} // namespace sc
