#pragma once
// A fan-out sink that receives one block into a local replica: decompress if
// needed, `btrfs receive` into staging, check the received block, then publish it.
#include <memory>
#include <string>

#include "core/block_header.h"
#include "core/btrfs.h"
#include "core/fan_out.h"
#include "core/process.h"
#include "core/replica_target.h"
#include "core/zstd_codec.h"

namespace sc {

struct ExpectedBlock {
    std::uint64_t height = 0;
    btrfs::Uuid uuid{};          // the primary snapshot's UUID: the received_uuid we must see
    std::string headerHash;      // hex hash of the primary's header
    std::string publicKey;       // the chain's pinned key
};

class LocalReceiveSink : public StreamSink {
public:
    LocalReceiveSink(const LocalReplica& replica, ExpectedBlock expected, bool compressed);
    ~LocalReceiveSink() override;

    void write(std::span<const std::uint8_t> chunk) override;
    void finish() override;
    void abort() noexcept override;
    std::string name() const override { return replica_.root(); }

private:
    void writeRaw(std::span<const std::uint8_t> bytes);
    void checkAndPublish();

    const LocalReplica& replica_;
    ExpectedBlock expected_;
    std::string stagingDir_;
    std::unique_ptr<ZstdDecompressor> decompressor_;
    std::unique_ptr<Subprocess> receive_;
};

} // namespace sc
