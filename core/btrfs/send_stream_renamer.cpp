#include "core/btrfs/send_stream_renamer.h"

#include "core/base/error.h"
#include "core/btrfs/send_stream_parser.h"

#include <algorithm>
#include <cstring>

namespace sc {

namespace {
constexpr std::size_t kStreamHeader = 13 + 4; // "btrfs-stream\0", version
constexpr std::size_t kCommandHeader = 4 + 2 + 4; // length, type, crc
constexpr std::uint16_t kAttrPath = 15;
constexpr std::uint32_t kMaxSubvolumeCommand = 64u << 10; // a name, UUIDs and transids

std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t le32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
void putLe16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
}
void putLe32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
bool createsSubvolume(std::uint16_t type) {
    return type == static_cast<std::uint16_t>(SendCommandType::Subvol) ||
           type == static_cast<std::uint16_t>(SendCommandType::Snapshot);
}
} // namespace

SendStreamRenamer::SendStreamRenamer(Rename rename, Emit emit) : rename_(std::move(rename)), emit_(std::move(emit)) {}

void SendStreamRenamer::feed(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        if (passThrough_ > 0) {
            std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(passThrough_, bytes.size()));
            emit_(bytes.first(take));
            passThrough_ -= take;
            bytes = bytes.subspan(take);
            continue;
        }
        const std::size_t need = !haveHeader_                     ? kStreamHeader
                                 : held_.size() < kCommandHeader ? kCommandHeader
                                                                 : kCommandHeader + le32(held_.data());
        std::size_t take = std::min(need - held_.size(), bytes.size());
        held_.insert(held_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
        bytes = bytes.subspan(take);
        if (held_.size() < need)
            continue;
        if (!haveHeader_) {
            haveHeader_ = true;
            emit_(held_);
            held_.clear();
            continue;
        }
        const std::uint32_t length = le32(held_.data());
        if (held_.size() == kCommandHeader && length > 0) { // a command header: the body follows
            if (!createsSubvolume(le16(held_.data() + 4))) {
                emit_(held_);
                held_.clear();
                passThrough_ = length;
            } else if (length > kMaxSubvolumeCommand) {
                throw Error("send stream: a subvolume command of " + std::to_string(length) + " bytes");
            }
            continue; // a SUBVOL/SNAPSHOT is held whole
        }
        if (createsSubvolume(le16(held_.data() + 4)))
            renameSubvolume();
        else {
            emit_(held_); // a command without attributes
            held_.clear();
        }
    }
}

void SendStreamRenamer::renameSubvolume() {
    std::vector<std::uint8_t> command(held_.begin(), held_.begin() + kCommandHeader);
    const std::uint8_t* p = held_.data() + kCommandHeader;
    const std::uint8_t* end = held_.data() + held_.size();
    while (p < end) {
        if (end - p < 4 || static_cast<std::size_t>(end - p - 4) < le16(p + 2))
            throw Error("send stream: a truncated attribute in a subvolume command");
        const std::uint16_t attr = le16(p);
        const std::size_t length = le16(p + 2);
        const std::string value(reinterpret_cast<const char*>(p + 4), length);
        const std::string renamed = attr == kAttrPath ? rename_(value) : value;
        std::uint8_t tlv[4];
        putLe16(tlv, attr);
        putLe16(tlv + 2, static_cast<std::uint16_t>(renamed.size()));
        command.insert(command.end(), tlv, tlv + 4);
        command.insert(command.end(), renamed.begin(), renamed.end());
        p += 4 + length;
    }
    putLe32(command.data(), static_cast<std::uint32_t>(command.size() - kCommandHeader));
    std::memset(command.data() + 6, 0, 4);
    putLe32(command.data() + 6, crc32c(0, command));
    emit_(command);
    held_.clear();
}

void SendStreamRenamer::finish() const {
    if (!haveHeader_ || passThrough_ > 0 || !held_.empty())
        throw Error("send stream: ended mid-command");
}

} // namespace sc
