#pragma once
// The send path's inner loop: one kernel send stream read once, in 1 MiB chunks, each
// chunk checksummed as the sinks ask (for the trailer), compressed once when any sink wants zstd, and handed
// to every sink through a FanOut; progress at most every 200 ms. A source failure ends the
// stream for every sink; a sink's failure ends only that sink's lane.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/base/hash.h"
#include "core/btrfs/kernel_send.h"
#include "core/endpoints/replica_endpoint.h"
#include "core/stream/fan_out.h"
#include "core/stream/transfer_meter.h"
#include "core/stream/zstd_codec.h"

namespace sc {

struct PumpedStream {
    std::vector<SinkOutcome> outcomes; // one per sink, in the order given
    std::string sourceError;           // the kernel send failed: every sink failed with it
};

class StreamPump {
public:
    // `meter` counts raw bytes and `wireBytes` bytes after compression, across every
    // stream of a send; `onProgress` is called (throttled) after chunks.
    StreamPump(TransferMeter& meter, std::uint64_t& wireBytes, std::function<void()> onProgress,
               const std::atomic<bool>* cancelled);

    // Throws sc::Error (ExitCode::Interrupted) when cancelled, after cancelling the sinks.
    PumpedStream run(const std::vector<KernelSendPart>& parts, const KernelSendOptions& options,
                     const std::vector<StreamSink*>& sinks, const CompressionSpec& compression,
                     StreamTrailer& trailer, const std::string& what);

private:
    struct Chunk {
        std::shared_ptr<const std::string> raw, packed;
        bool last = false;
    };
    Chunk readChunk(KernelSend& send, ZstdCompressor* compressor, std::vector<TransferHasher>& checksums,
                    const std::string& what);
    void throwIfCancelled() const;

    TransferMeter& meter_;
    std::uint64_t& wireBytes_;
    std::function<void()> onProgress_;
    const std::atomic<bool>* cancelled_;
};

} // namespace sc
