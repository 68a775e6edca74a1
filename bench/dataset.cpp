#include "bench/dataset.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace bench {

std::uint64_t DatasetShape::totalBytes() const {
    return static_cast<std::uint64_t>(smallFiles) * 8192 + largeFiles * largeFileBytes + logBytes;
}

DatasetShape quickShape(std::uint64_t seed) {
    return {.smallFiles = 3000, .largeFiles = 2, .largeFileBytes = 48u << 20, .logBytes = 32u << 20, .seed = seed};
}

DatasetShape fullShape(std::uint64_t seed) {
    return {.smallFiles = 17000, .largeFiles = 4, .largeFileBytes = 200u << 20, .logBytes = 256u << 20, .seed = seed};
}

namespace {

std::string smallPath(const std::string& dir, std::uint32_t index) {
    return dir + "/src/module" + std::to_string(index % 97) + "/part" + std::to_string(index % 13) + "/file" +
           std::to_string(index) + ".c";
}

// Source-like text: words from a small vocabulary, so it compresses like code does.
std::string sourceText(std::mt19937_64& random, std::size_t bytes) {
    static const char* words[] = {"static", "int", "return", "if", "else", "for", "while", "struct", "const",
                                  "char", "void", "size_t", "buffer", "length", "result", "error", "state",
                                  "->", "{", "}", "(", ")", ";", "=", "==", "+", "0", "1", "NULL", "\n"};
    std::string text;
    text.reserve(bytes + 16);
    while (text.size() < bytes) {
        text += words[random() % (sizeof words / sizeof *words)];
        text += ' ';
    }
    text.resize(bytes);
    return text;
}

void writeRandom(const std::string& path, std::mt19937_64& random, std::uint64_t bytes, std::uint64_t offset = 0) {
    std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
    if (!out)
        out.open(path, std::ios::out | std::ios::binary);
    out.seekp(static_cast<std::streamoff>(offset));
    std::vector<std::uint64_t> block(1 << 17); // 1 MiB
    for (std::uint64_t done = 0; done < bytes;) {
        for (auto& word : block)
            word = random();
        auto n = std::min<std::uint64_t>(bytes - done, block.size() * 8);
        out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
        done += n;
    }
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

} // namespace

void writeDataset(const std::string& dir, const DatasetShape& shape) {
    std::mt19937_64 random(shape.seed);
    for (std::uint32_t i = 0; i < shape.smallFiles; ++i) {
        std::string path = smallPath(dir, i);
        fs::create_directories(fs::path(path).parent_path());
        std::ofstream(path, std::ios::binary) << sourceText(random, 1024 + random() % (15 * 1024));
    }
    fs::create_directories(dir + "/big");
    for (std::uint32_t i = 0; i < shape.largeFiles; ++i)
        writeRandom(dir + "/big/blob" + std::to_string(i) + ".bin", random, shape.largeFileBytes);
    fs::create_directories(dir + "/logs");
    std::ofstream log(dir + "/logs/service.log", std::ios::binary);
    for (std::uint64_t written = 0, line = 0; written < shape.logBytes; ++line) {
        std::string text = "2026-11-24T10:" + std::to_string(10 + line % 50) + ":00Z api[" +
                           std::to_string(1000 + random() % 9) + "]: GET /v1/items/" + std::to_string(random() % 100000) +
                           " 200 " + std::to_string(random() % 900) + "us\n";
        log << text;
        written += text.size();
    }
}

std::uint64_t changeDataset(const std::string& dir, const DatasetShape& shape, double fraction, std::uint32_t round) {
    std::mt19937_64 random(shape.seed * 7919 + round);
    const auto target = static_cast<std::uint64_t>(static_cast<double>(shape.totalBytes()) * fraction);
    std::uint64_t changed = 0;
    // Half in small files (rewritten whole), half in one large file (overwritten in place).
    while (changed < target / 2 && shape.smallFiles > 0) {
        auto index = static_cast<std::uint32_t>(random() % shape.smallFiles);
        std::string text = sourceText(random, 1024 + random() % (15 * 1024));
        std::ofstream(smallPath(dir, index), std::ios::binary | std::ios::trunc) << text;
        changed += text.size();
    }
    if (shape.largeFiles > 0) {
        std::uint64_t stretch = target - std::min(changed, target);
        std::uint64_t offset = (random() % std::max<std::uint64_t>(1, shape.largeFileBytes - stretch)) & ~4095ull;
        writeRandom(dir + "/big/blob" + std::to_string(round % shape.largeFiles) + ".bin", random, stretch, offset);
        changed += stretch;
    }
    return changed;
}

void writeRandomStretch(const std::string& path, std::uint64_t seed, std::uint64_t bytes, std::uint64_t offset) {
    std::mt19937_64 random(seed);
    writeRandom(path, random, bytes, offset);
}

} // namespace bench
