#pragma once
// Inside the StreamGate (stream_gate.cpp reads the framing, stream_gate_content.cpp
// judges each command): the send stream's attribute numbers, as btrfs-progs 6.2's
// kernel-shared/send.h gives them, and a command's attributes as receive reads them.
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "core/replica/stream_gate.h"

namespace sc::gate {

constexpr std::size_t kCommandHeader = 4 + 2 + 4;
constexpr std::size_t kMaxPath = 4095; // PATH_MAX less its NUL: receive joins paths in PATH_MAX buffers
constexpr std::size_t kMaxName = 255;

enum Attr : std::uint16_t {
    AUuid = 1, ACtransid = 2, ASize = 4, AMode = 5, AUid = 6, AGid = 7, ARdev = 8, ACtime = 9, AMtime = 10,
    AAtime = 11, AXattrName = 13, AXattrData = 14, APath = 15, APathTo = 16, APathLink = 17, AFileOffset = 18,
    AData = 19, ACloneUuid = 20, ACloneCtransid = 21, AClonePath = 22, ACloneOffset = 23, ACloneLen = 24,
    AFallocateMode = 25, AFileattr = 26, AUnencodedFileLen = 27,
};
constexpr std::uint16_t kLastAttrV1 = 24, kLastAttrV2 = 31;
constexpr std::uint16_t kLastCommandV1 = 22; // v2 adds fallocate, fileattr, encoded write

inline std::uint32_t le32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }

const char* commandName(std::uint16_t type);

} // namespace sc::gate

namespace sc {

// A command's attributes as btrfs receive reads them: in v2 the DATA attribute has no
// length and runs to the end of the command, whatever the command.
struct StreamGate::Attributes {
    std::array<std::span<const std::uint8_t>, gate::kLastAttrV2 + 1> value{};
    std::array<bool, gate::kLastAttrV2 + 1> present{};
    const StreamGate* gate = nullptr;

    std::span<const std::uint8_t> raw(std::uint16_t attr) const {
        if (!present[attr])
            gate->refuse(std::string("attribute ") + std::to_string(attr) + " is missing");
        return value[attr];
    }
    std::string text(std::uint16_t attr) const {
        auto v = raw(attr);
        return std::string(reinterpret_cast<const char*>(v.data()), v.size());
    }
    std::uint64_t u64(std::uint16_t attr) const {
        auto v = raw(attr);
        if (v.size() != 8)
            gate->refuse("attribute " + std::to_string(attr) + " is not a 64-bit number");
        std::uint64_t out = 0;
        for (std::size_t i = 0; i < 8; ++i)
            out |= static_cast<std::uint64_t>(v[i]) << (8 * i);
        return out;
    }
    btrfs::Uuid uuid(std::uint16_t attr) const {
        auto v = raw(attr);
        if (v.size() != 16)
            gate->refuse("attribute " + std::to_string(attr) + " is not a UUID");
        btrfs::Uuid out{};
        std::memcpy(out.data(), v.data(), 16);
        return out;
    }
};

} // namespace sc
