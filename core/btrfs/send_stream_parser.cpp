#include "core/btrfs/send_stream_parser.h"

#include "core/base/error.h"

#include <array>
#include <cstring>

namespace sc {

namespace {

constexpr char kMagic[] = "btrfs-stream"; // 13 bytes with its NUL
constexpr std::size_t kStreamHeader = 13 + 4;
constexpr std::size_t kCommandHeader = 4 + 2 + 4;
constexpr std::uint32_t kMaxCommand = (16u << 20) + 4096;

enum Attribute : std::uint16_t {
    AttrUuid = 1, AttrSize = 4, AttrMode = 5, AttrUid = 6, AttrGid = 7, AttrXattrName = 13, AttrPath = 15,
    AttrPathTo = 16, AttrPathLink = 17, AttrFileOffset = 18, AttrData = 19, AttrCloneUuid = 20,
    AttrClonePath = 22, AttrCloneOffset = 23, AttrCloneLen = 24, AttrUnencodedLen = 28,
};

std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t le32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t leN(const std::uint8_t* p, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n && i < 8; ++i)
        v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return v;
}

std::array<std::uint32_t, 256> makeCrcTable() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    return table;
}

} // namespace

std::uint32_t crc32c(std::uint32_t seed, std::span<const std::uint8_t> bytes) {
    static const auto table = makeCrcTable();
    std::uint32_t crc = seed;
    for (std::uint8_t b : bytes)
        crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
    return crc;
}

SendStreamParser::SendStreamParser(Handler handler) : handler_(std::move(handler)) {
    pending_.reserve(1 << 16);
}

void SendStreamParser::feed(std::span<const std::uint8_t> bytes) {
    std::size_t at = 0;
    // Moves input into pending_ until it holds `need` bytes; true once it does.
    auto hold = [&](std::size_t need) {
        std::size_t take = std::min(need - pending_.size(), bytes.size() - at);
        pending_.insert(pending_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at),
                        bytes.begin() + static_cast<std::ptrdiff_t>(at + take));
        at += take;
        bytesSeen_ += take;
        return pending_.size() == need;
    };
    while (at < bytes.size()) {
        if (!haveHeader_) {
            if (!hold(kStreamHeader))
                continue;
            if (std::memcmp(pending_.data(), kMagic, sizeof kMagic) != 0)
                throw Error("send stream: bad magic (not a btrfs send stream)");
            version_ = le32(pending_.data() + 13);
            if (version_ < 1 || version_ > 3)
                throw Error("send stream: unsupported version " + std::to_string(version_));
            haveHeader_ = true;
            pending_.clear();
            commandStart_ = bytesSeen_;
            continue;
        }
        if (pending_.size() < kCommandHeader && !hold(kCommandHeader))
            continue;
        std::uint32_t length = le32(pending_.data());
        if (length > kMaxCommand)
            throw Error("send stream: command of " + std::to_string(length) + " bytes at offset " +
                        std::to_string(commandStart_) + " is too large");
        if (!hold(kCommandHeader + length))
            continue;
        parseCommand();
        pending_.clear();
        commandStart_ = bytesSeen_;
    }
}

void SendStreamParser::parseCommand() {
    std::uint8_t* base = pending_.data();
    std::uint32_t length = le32(base);
    auto type = static_cast<SendCommandType>(le16(base + 4));
    std::uint32_t stored = le32(base + 6);
    std::memset(base + 6, 0, 4);
    std::uint32_t actual = crc32c(0, std::span<const std::uint8_t>(base, kCommandHeader + length));
    if (actual != stored)
        throw Error("send stream: checksum mismatch in command at offset " + std::to_string(commandStart_));
    SendCommand command;
    command.type = type;
    const std::uint8_t* p = base + kCommandHeader;
    const std::uint8_t* end = p + length;
    auto fail = [&](const char* what) {
        throw Error(std::string("send stream: ") + what + " at offset " + std::to_string(commandStart_));
    };
    bool dataHasNoLength = version_ >= 2 && (type == SendCommandType::Write || type == SendCommandType::EncodedWrite);
    while (p < end) {
        if (end - p < 2)
            fail("truncated attribute");
        std::uint16_t attr = le16(p);
        if (attr == AttrData && dataHasNoLength) {
            command.dataLength = static_cast<std::uint64_t>(end - (p + 2)); // the rest of the command
            break;
        }
        if (end - p < 4)
            fail("truncated attribute");
        std::size_t attrLength = le16(p + 2);
        const std::uint8_t* value = p + 4;
        if (static_cast<std::size_t>(end - value) < attrLength)
            fail("attribute overruns its command");
        auto text = [&] { return std::string(reinterpret_cast<const char*>(value), attrLength); };
        auto number = [&] { return leN(value, attrLength); };
        switch (attr) {
        case AttrPath: command.path = text(); break;
        case AttrPathTo: command.pathTo = text(); break;
        case AttrPathLink: command.pathLink = text(); break;
        case AttrClonePath: command.clonePath = text(); break;
        case AttrCloneLen: command.cloneLength = number(); break;
        case AttrCloneOffset: command.cloneOffset = number(); break;
        case AttrUuid: command.uuid = text(); break;
        case AttrCloneUuid: command.cloneUuid = text(); break;
        case AttrXattrName: command.xattrName = text(); break;
        case AttrFileOffset: command.fileOffset = number(); break;
        case AttrSize: command.size = number(); break;
        case AttrUnencodedLen: command.size = number(); break;
        case AttrMode: command.mode = number(); break;
        case AttrUid: command.uid = number(); break;
        case AttrGid: command.gid = number(); break;
        case AttrData: command.dataLength = attrLength; break;
        default: break;
        }
        p = value + attrLength;
    }
    ++commands_;
    handler_(command);
}

void SendStreamParser::finish() {
    if (!haveHeader_)
        throw Error("send stream: empty or truncated before its header");
    if (!pending_.empty())
        throw Error("send stream: truncated inside the command at offset " + std::to_string(commandStart_));
}

} // namespace sc
