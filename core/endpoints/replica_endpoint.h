#pragma once
// What sending and verifying need from a replica, wherever it is: a local btrfs
// directory, or a remote one served by `streamchain agent` over SSH.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/btrfs/subvolumes.h"
#include "core/footprint/footprint_tree.h"
#include "core/ledger/chain_identity.h"
#include "core/replica/block_receiver.h"
#include "core/replica/replica_target.h"
#include "core/stream/fan_out.h"
#include "core/stream/zstd_codec.h"

namespace sc {

// One stream to one replica: the blocks it carries, in order.
struct StreamAnnouncement {
    std::vector<IncomingBlock> blocks;
    CompressionSpec compression;
    std::string spoolKey; // non-empty: the replica spools it so a broken transfer can resume
    double spoolMaxRate = 0; // the replica stops spooling once the stream arrives faster (bytes/s); 0: never
};

// Filled in by the producer after the last byte and before the sinks finish.
// Each checksum is taken only when a sink of the stream asked for it (else empty).
struct StreamTrailer {
    std::uint64_t rawBytes = 0;
    std::string rawSha256;
    std::string rawXxh3;
};

// A stream that also feeds replicas behind this one: each route names the hops
// (their URLs, as the relays know them) from this replica down to one that receives.
struct RelayPlan {
    bool keep = true; // this replica publishes the blocks too; false: it only passes them on
    std::vector<std::vector<std::string>> routes;
};

struct RelayedOutcome {
    std::vector<std::string> route;
    bool ok = false;
    std::string error;
};

class ReplicaEndpoint {
public:
    virtual ~ReplicaEndpoint() = default;
    virtual std::string label() const = 0;
    // Bind the replica to the chain (creating its layout), take its lock, clean leftovers.
    virtual void prepare(const ChainIdentity& chain) = 0;
    // For reading only: the replica exists and belongs to this chain.
    virtual void checkBinding(const ChainIdentity& chain) = 0;
    virtual std::vector<ReplicaBlock> blocks() = 0;
    virtual std::string headerText(std::uint64_t height) = 0;
    virtual std::string footprintRoot(std::uint64_t height) = 0; // re-hashed now, where the block is
    virtual FootprintTree footprintTree(std::uint64_t height) = 0;
    virtual std::unique_ptr<StreamSink> openStream(const StreamAnnouncement& stream,
                                                   std::shared_ptr<const StreamTrailer> trailer) = 0;
    // Only replicas served by the agent relay; results are filled in when the sink finishes
    // or fails (replicas without a result did not get the stream).
    virtual std::unique_ptr<StreamSink> openRelayedStream(const StreamAnnouncement& stream,
                                                          std::shared_ptr<const StreamTrailer> trailer,
                                                          const RelayPlan& plan,
                                                          std::shared_ptr<std::vector<RelayedOutcome>> results);
    virtual bool remote() const = 0;
    virtual bool canHash() const { return true; } // false: plain mode, nothing to re-hash with there
};

struct EndpointOptions {
    std::string knownHostsFile; // the chain's pinned host keys
    std::string identityFile;
    std::string acceptHostKey;
    std::string agentPath;
    bool plain = false; // no agent: btrfs receive over SSH, fewer checks
    bool deployAgent = false; // behind a relay: the relay uploads its own agent if the host lacks one
};

// A target and how to reach it: directly, or through relays (outermost first:
// the primary connects to relays[0], which feeds relays[1], ..., which feeds spec).
struct TargetRef {
    TargetSpec spec;
    EndpointOptions options;
    std::vector<TargetRef> relays;
};

// Connects for ssh:// targets (throws naming the host and step). Relayed targets go through EndpointPool.
std::unique_ptr<ReplicaEndpoint> openEndpoint(const TargetSpec& target, const ChainIdentity& chain,
                                              const EndpointOptions& options);

// A key naming the stream of these blocks from this parent, the same on every try.
std::string spoolKeyFor(const btrfs::Uuid* parent, const std::vector<btrfs::Uuid>& blocks);

} // namespace sc
