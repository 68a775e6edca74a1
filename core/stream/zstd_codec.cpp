#include "core/stream/zstd_codec.h"

#include "core/base/error.h"

#include <charconv>
#include <vector>
#include <zstd.h>

namespace sc {

struct ZstdCompressor::State {
    ZSTD_CCtx* ctx = ZSTD_createCCtx();
    std::vector<std::uint8_t> buffer = std::vector<std::uint8_t>(ZSTD_CStreamOutSize());
    ~State() { ZSTD_freeCCtx(ctx); }

    void run(std::span<const std::uint8_t> input, ZSTD_EndDirective mode, std::string& out) {
        ZSTD_inBuffer in{input.data(), input.size(), 0};
        while (true) {
            ZSTD_outBuffer o{buffer.data(), buffer.size(), 0};
            std::size_t remaining = ZSTD_compressStream2(ctx, &o, &in, mode);
            if (ZSTD_isError(remaining))
                throw Error(std::string("zstd compression failed: ") + ZSTD_getErrorName(remaining));
            out.append(reinterpret_cast<const char*>(buffer.data()), o.pos);
            bool inputDone = in.pos == in.size;
            if (mode == ZSTD_e_continue ? inputDone : remaining == 0)
                break;
        }
    }
};

ZstdCompressor::ZstdCompressor(int level, int threads) : state_(std::make_unique<State>()) {
    if (level < 1 || level > ZSTD_maxCLevel())
        throw Error("zstd level " + std::to_string(level) + " is out of range 1.." + std::to_string(ZSTD_maxCLevel()),
                    ExitCode::Usage);
    ZSTD_CCtx_setParameter(state_->ctx, ZSTD_c_compressionLevel, level);
    if (threads > 0 && ZSTD_isError(ZSTD_CCtx_setParameter(state_->ctx, ZSTD_c_nbWorkers, threads)))
        throw Error("this libzstd cannot compress with worker threads");
}

ZstdCompressor::~ZstdCompressor() = default;

void ZstdCompressor::compress(std::span<const std::uint8_t> input, std::string& out) {
    state_->run(input, ZSTD_e_continue, out);
}

void ZstdCompressor::finish(std::string& out) { state_->run({}, ZSTD_e_end, out); }

struct ZstdDecompressor::State {
    ZSTD_DCtx* ctx = ZSTD_createDCtx();
    std::vector<std::uint8_t> buffer = std::vector<std::uint8_t>(ZSTD_DStreamOutSize());
    std::size_t lastHint = 0; // 0 after a frame ended exactly
    bool sawInput = false;
    ~State() { ZSTD_freeDCtx(ctx); }
};

ZstdDecompressor::ZstdDecompressor() : state_(std::make_unique<State>()) {}
ZstdDecompressor::~ZstdDecompressor() = default;

void ZstdDecompressor::decompress(std::span<const std::uint8_t> input,
                                  const std::function<void(std::span<const std::uint8_t>)>& sink) {
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    if (!input.empty())
        state_->sawInput = true;
    while (in.pos < in.size) {
        ZSTD_outBuffer out{state_->buffer.data(), state_->buffer.size(), 0};
        std::size_t hint = ZSTD_decompressStream(state_->ctx, &out, &in);
        if (ZSTD_isError(hint))
            throw Error(std::string("corrupt zstd stream: ") + ZSTD_getErrorName(hint));
        state_->lastHint = hint;
        if (out.pos > 0)
            sink(std::span<const std::uint8_t>(state_->buffer.data(), out.pos));
    }
    // Drain output still held inside zstd when the input is used up.
    while (true) {
        ZSTD_outBuffer out{state_->buffer.data(), state_->buffer.size(), 0};
        ZSTD_inBuffer none{nullptr, 0, 0};
        std::size_t hint = ZSTD_decompressStream(state_->ctx, &out, &none);
        if (ZSTD_isError(hint))
            throw Error(std::string("corrupt zstd stream: ") + ZSTD_getErrorName(hint));
        if (out.pos == 0)
            break;
        state_->lastHint = hint;
        sink(std::span<const std::uint8_t>(state_->buffer.data(), out.pos));
    }
}

void ZstdDecompressor::finish() {
    if (!state_->sawInput || state_->lastHint != 0)
        throw Error("zstd stream ends in the middle of a frame (truncated)");
}

CompressionSpec parseCompressionSpec(const std::string& text) {
    CompressionSpec spec;
    if (text.empty() || text == "none" || text == "off")
        return spec;
    if (text == "zstd") {
        spec.enabled = true;
        return spec;
    }
    if (text.rfind("zstd:", 0) == 0) {
        std::string level = text.substr(5);
        int value = 0;
        auto [end, ec] = std::from_chars(level.data(), level.data() + level.size(), value);
        if (ec == std::errc() && end == level.data() + level.size() && value >= 1 && value <= 19) {
            spec.enabled = true;
            spec.level = value;
            return spec;
        }
        throw Error("compression level '" + level + "' must be a number from 1 to 19", ExitCode::Usage);
    }
    throw Error("unknown compression '" + text + "' (expected none, zstd or zstd:LEVEL)", ExitCode::Usage);
}

} // namespace sc
