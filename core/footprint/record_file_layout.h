#pragma once
// What the record file's writer and reader share: the layout constants of version 3
// (footprint_record_file.h describes the layout) and the little-endian helpers.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/base/hash.h"
#include "core/footprint/footprint_entries.h"

namespace sc::record_layout {

inline constexpr char kMagic[8] = {'S', 'C', 'F', 'P', 'T', 'R', 'E', 'E'};
inline constexpr std::uint32_t kStreamedVersion = 3;
inline constexpr std::size_t kHeaderBytes = sizeof kMagic + 4 + 4 + 4 + 1 + 1;
inline constexpr std::size_t kChecksumBytes = 32;
inline constexpr std::uint64_t kNoChunks = UINT64_MAX;
inline constexpr std::size_t kIoBytes = 1u << 20;
inline constexpr std::size_t kMaxPathBytes = 1u << 16;

inline std::uint8_t digestSizeOf(HashAlgorithm algorithm) { return hashBytes(algorithm, "").size; }

inline void putInt(std::string& out, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

inline std::string encodeInt(std::uint64_t value, int bytes) {
    std::string out;
    putInt(out, value, bytes);
    return out;
}

inline void putDigest(std::string& out, const Digest& digest, std::uint8_t size) {
    Digest padded = digest; // a placeholder (empty) digest is written as zeros
    out.append(reinterpret_cast<const char*>(padded.bytes.data()), size);
}

inline bool hasChunkReference(const EntryStreamInfo& settings, EntryType type) {
    return settings.format == kFootprintFormatChunked && type == EntryType::File;
}

// SHA-256 of the first `length` bytes of a file (the record checksum).
Digest checksumOf(int fd, std::uint64_t length, const std::string& what);

inline std::uint64_t integerAt(const std::string& bytes, std::size_t at, int size) {
    std::uint64_t v = 0;
    for (int i = 0; i < size; ++i)
        v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[at + static_cast<std::size_t>(i)])) << (8 * i);
    return v;
}

} // namespace sc::record_layout
