#include "core/replication/stream_pump.h"

#include "core/base/error.h"
#include "core/base/fault_injection.h"
#include "core/base/file_io.h"
#include "core/base/hash.h"

#include <chrono>
#include <memory>
#include <thread>

namespace sc {

namespace {
constexpr std::size_t kChunkBytes = 1 << 20;
constexpr auto kProgressInterval = std::chrono::milliseconds(200);
} // namespace

StreamPump::StreamPump(TransferMeter& meter, std::uint64_t& wireBytes, std::function<void()> onProgress,
                       const std::atomic<bool>* cancelled)
    : meter_(meter), wireBytes_(wireBytes), onProgress_(std::move(onProgress)), cancelled_(cancelled) {}

void StreamPump::throwIfCancelled() const {
    if (cancelled_ && cancelled_->load())
        throw Error("send cancelled", ExitCode::Interrupted);
}

StreamPump::Chunk StreamPump::readChunk(KernelSend& send, ZstdCompressor* compressor,
                                        std::vector<TransferHasher>& checksums, const std::string& what) {
    auto raw = std::make_shared<std::string>(kChunkBytes, '\0');
    std::size_t filled = readFull(send.fd(), raw->data(), kChunkBytes, "cannot read send stream of " + what);
    Chunk chunk;
    chunk.last = filled < kChunkBytes;
    raw->resize(filled);
    meter_.add(filled);
    for (TransferHasher& checksum : checksums)
        checksum.update(std::span(reinterpret_cast<const std::uint8_t*>(raw->data()), raw->size()));
    std::uint64_t sent = filled;
    if (compressor) {
        auto packed = std::make_shared<std::string>();
        compressor->compress(std::span(reinterpret_cast<const std::uint8_t*>(raw->data()), raw->size()), *packed);
        if (chunk.last)
            compressor->finish(*packed);
        sent = packed->size();
        chunk.packed = std::move(packed);
    }
    wireBytes_ += sent;
    chunk.raw = std::move(raw);
    return chunk;
}

PumpedStream StreamPump::run(const std::vector<KernelSendPart>& parts, const KernelSendOptions& options,
                             const std::vector<StreamSink*>& sinks, const CompressionSpec& compression,
                             StreamTrailer& trailer, const std::string& what) {
    bool anyPacked = false;
    TransferChecksums wanted;
    for (StreamSink* sink : sinks) {
        anyPacked = anyPacked || sink->wantsPacked();
        wanted |= sink->checksumsWanted();
    }
    // Only the checksums some receiver checks: SHA-256 costs several times XXH3.
    std::vector<TransferHasher> checksums;
    for (TransferChecksum checksum : {TransferChecksum::Sha256, TransferChecksum::Xxh3})
        if (wanted.has(checksum))
            checksums.emplace_back(checksum);
    FanOut fanOut(sinks);
    std::unique_ptr<ZstdCompressor> compressor;
    if (anyPacked)
        compressor = std::make_unique<ZstdCompressor>(compression.level, compression.threads);
    PumpedStream result;
    auto lastProgress = std::chrono::steady_clock::now();
    try {
        KernelSend send(parts, options);
        bool allFailed = false;
        for (bool last = false; !last;) {
            Chunk chunk = readChunk(send, compressor.get(), checksums, what);
            last = chunk.last;
            trailer.rawBytes += chunk.raw->size();
            if (!fanOut.push(chunk.raw, chunk.packed)) {
                allFailed = true; // every sink of this stream failed: stop the kernel's send too
                send.cancel();
                break;
            }
            if (auto now = std::chrono::steady_clock::now(); now - lastProgress > kProgressInterval) {
                lastProgress = now;
                onProgress_();
            }
            throwIfCancelled();
            if (faultActive("send-slowly")) // a long stream for tests that stop the daemon mid-way
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (!allFailed) {
            send.finish();
            for (TransferHasher& checksum : checksums)
                (checksum.checksum() == TransferChecksum::Sha256 ? trailer.rawSha256 : trailer.rawXxh3) =
                    checksum.finishHex();
        }
    } catch (const Error& e) {
        if (e.code() == ExitCode::Interrupted) {
            fanOut.cancel(e.what());
            throw;
        }
        result.sourceError = e.what();
    }
    result.outcomes = result.sourceError.empty() ? fanOut.finish() : fanOut.cancel(result.sourceError);
    return result;
}

} // namespace sc
