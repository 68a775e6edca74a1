#pragma once
// Streaming zstd (libzstd), multithreaded compression.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace sc {

class ZstdCompressor {
public:
    ZstdCompressor(int level, int threads); // threads > 0 uses zstd's worker pool
    ~ZstdCompressor();
    ZstdCompressor(const ZstdCompressor&) = delete;
    ZstdCompressor& operator=(const ZstdCompressor&) = delete;
    // Appends compressed bytes for `input` to `out` (zstd may buffer and append nothing yet).
    void compress(std::span<const std::uint8_t> input, std::string& out);
    void finish(std::string& out); // ends the frame

private:
    struct State;
    std::unique_ptr<State> state_;
};

class ZstdDecompressor {
public:
    ZstdDecompressor();
    ~ZstdDecompressor();
    ZstdDecompressor(const ZstdDecompressor&) = delete;
    ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;
    void decompress(std::span<const std::uint8_t> input,
                    const std::function<void(std::span<const std::uint8_t>)>& sink);
    void finish(); // throws if the input stopped inside a frame

private:
    struct State;
    std::unique_ptr<State> state_;
};

struct CompressionSpec {
    bool enabled = false;
    int level = 3;
    int threads = 0;
};
// "none", "off", "zstd", "zstd:LEVEL" (1..19); anything else is a usage error.
CompressionSpec parseCompressionSpec(const std::string& text);

} // namespace sc
