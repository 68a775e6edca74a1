#include "core/replica/stream_gate.h"

#include "core/base/error.h"
#include "core/base/height_names.h"
#include "core/btrfs/send_stream_parser.h"
#include "core/footprint/footprint_tree.h"
#include "core/ledger/block_header.h"
#include "core/replica/stream_gate_attributes.h"

#include <cstring>

namespace sc {

namespace gate {

const char* commandName(std::uint16_t type) {
    static const char* const names[] = {"unspec", "subvol", "snapshot", "mkfile", "mkdir", "mknod", "mkfifo",
                                        "mksock", "symlink", "rename", "link", "unlink", "rmdir", "set_xattr",
                                        "remove_xattr", "write", "clone", "truncate", "chmod", "chown", "utimes",
                                        "end", "update_extent", "fallocate", "fileattr", "encoded_write",
                                        "enable_verity"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

} // namespace gate

using namespace gate;

namespace {
constexpr char kMagic[] = "btrfs-stream"; // 13 bytes with its NUL
constexpr std::size_t kStreamHeader = 13 + 4;
} // namespace

StreamGate::StreamGate(std::vector<GatedBlock> blocks, Hooks hooks, Emit emit, std::uint64_t maxXattrBytes)
    : blocks_(std::move(blocks)), hooks_(std::move(hooks)), emit_(std::move(emit)), maxXattrBytes_(maxXattrBytes) {
    held_.reserve(kStreamHeader);
}

void StreamGate::refuse(const std::string& why) const {
    std::string block =
        tallies_.empty() ? std::string() : " (block " + std::to_string(blocks_[tallies_.size() - 1].height) + ")";
    throw Error("send stream refused at offset " + std::to_string(offset_) + block + ": " + why);
}

void StreamGate::flush() {
    if (pendingTo_ > pendingFrom_)
        emit_(input_.subspan(pendingFrom_, pendingTo_ - pendingFrom_));
    pendingFrom_ = pendingTo_;
}

void StreamGate::feed(std::span<const std::uint8_t> bytes) {
    input_ = bytes;
    pendingFrom_ = pendingTo_ = 0;
    std::size_t at = 0;
    while (at < bytes.size()) {
        if (ended_)
            refuse("bytes follow the end command");
        // The size of the unit being read: the stream header, or a command once its header is in.
        auto unitSize = [&](const std::uint8_t* start, std::size_t available) -> std::size_t {
            if (version_ == 0)
                return kStreamHeader;
            if (available < kCommandHeader)
                return 0;
            std::uint32_t length = le32(start);
            if (length > kMaxCommandBytes)
                refuse("a command of " + std::to_string(length) + " bytes (btrfs send writes far smaller ones)");
            return kCommandHeader + length;
        };
        if (held_.empty()) {
            std::size_t size = unitSize(bytes.data() + at, bytes.size() - at);
            if (size != 0 && bytes.size() - at >= size) {
                if (pendingTo_ != at)
                    flush(), pendingFrom_ = pendingTo_ = at;
                command(bytes.subspan(at, size), true);
                at += size;
                offset_ += size;
                continue;
            }
            held_.assign(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.end());
            at = bytes.size();
            break;
        }
        std::size_t size = unitSize(held_.data(), held_.size());
        std::size_t need = size == 0 ? kCommandHeader : size;
        std::size_t take = std::min(need - held_.size(), bytes.size() - at);
        held_.insert(held_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at),
                     bytes.begin() + static_cast<std::ptrdiff_t>(at + take));
        at += take;
        if (size == 0 || held_.size() < size)
            continue;
        flush();
        std::vector<std::uint8_t> unit = std::move(held_);
        held_.clear();
        command(unit, false);
        offset_ += unit.size();
        pendingFrom_ = pendingTo_ = at;
    }
    flush();
    input_ = {};
}

void StreamGate::finish() {
    if (!held_.empty())
        refuse("the stream is truncated inside a command");
    if (version_ == 0)
        refuse("the stream is empty");
    if (!ended_)
        refuse("the stream ends without its end command");
    if (tallies_.size() != blocks_.size())
        refuse("the stream carries " + std::to_string(tallies_.size()) + " of the " + std::to_string(blocks_.size()) +
               " announced blocks");
}

// One unit, complete: the stream header or a command. In place means it lies in input_
// right after what is pending, so passing it on is extending the pending range.
void StreamGate::command(std::span<const std::uint8_t> bytes, bool inPlace) {
    auto pass = [&] {
        if (inPlace)
            pendingTo_ += bytes.size();
        else
            emit_(bytes);
    };
    if (version_ == 0) {
        if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
            refuse("not a btrfs send stream");
        std::uint32_t version = le32(bytes.data() + 13);
        if (version != 1 && version != 2)
            refuse("send stream version " + std::to_string(version) + " (replicas take versions 1 and 2)");
        version_ = version;
        return pass();
    }
    const std::uint8_t* body = bytes.data() + kCommandHeader;
    const std::size_t length = bytes.size() - kCommandHeader;
    const std::uint16_t type = le16(bytes.data() + 4);
    Attributes attrs;
    attrs.gate = this;
    const std::uint16_t lastAttr = version_ >= 2 ? kLastAttrV2 : kLastAttrV1;
    for (std::size_t pos = 0; pos < length;) {
        if (length - pos < 2)
            refuse("a truncated attribute");
        std::uint16_t attr = le16(body + pos);
        pos += 2;
        if (attr == 0 || attr > lastAttr)
            refuse("attribute type " + std::to_string(attr) + " in a " + commandName(type) + " command");
        if (attrs.present[attr])
            refuse(std::string("attribute ") + std::to_string(attr) + " twice in a " + commandName(type) + " command");
        std::size_t size = 0;
        if (version_ >= 2 && attr == AData) {
            size = length - pos;
        } else {
            if (length - pos < 2)
                refuse("a truncated attribute");
            size = le16(body + pos);
            pos += 2;
            if (length - pos < size)
                refuse("an attribute overruns its command");
        }
        attrs.present[attr] = true;
        attrs.value[attr] = std::span(body + pos, size);
        pos += size;
    }

    if (type == static_cast<std::uint16_t>(SendCommandType::End)) {
        if (tallies_.size() != blocks_.size())
            refuse("the stream ends after " + std::to_string(tallies_.size()) + " of " +
                   std::to_string(blocks_.size()) + " announced blocks");
        ended_ = true;
        return pass();
    }
    if (type == static_cast<std::uint16_t>(SendCommandType::Subvol) ||
        type == static_cast<std::uint16_t>(SendCommandType::Snapshot)) {
        if (inPlace)
            flush(); // its predecessors go out before any hook waits on receive
        return subvolume(bytes, type, attrs);
    }
    if (tallies_.empty())
        refuse(std::string("a ") + commandName(type) + " command before any subvolume");
    BlockTally& tally = tallies_.back();
    if (++tally.commands > blocks_[tallies_.size() - 1].maxCommands)
        refuse("more commands than a block of this size needs (over " +
               std::to_string(blocks_[tallies_.size() - 1].maxCommands) + ")");
    if (type != static_cast<std::uint16_t>(SendCommandType::Write) &&
        type != static_cast<std::uint16_t>(SendCommandType::Clone) &&
        type != static_cast<std::uint16_t>(SendCommandType::EncodedWrite))
        ++tally.metadataCommands;
    if (type == static_cast<std::uint16_t>(SendCommandType::Clone) && inPlace)
        flush(); // the clone-source check may wait on receive
    if (!checkContent(type, attrs))
        pass();
}

void StreamGate::subvolume(std::span<const std::uint8_t> bytes, std::uint16_t type, const Attributes& attrs) {
    if (tallies_.size() >= blocks_.size())
        refuse("the stream carries more subvolumes than the " + std::to_string(blocks_.size()) + " announced");
    const std::size_t index = tallies_.size();
    const GatedBlock& block = blocks_[index];
    tallies_.emplace_back();
    ++tallies_.back().commands;
    const bool snapshot = type == static_cast<std::uint16_t>(SendCommandType::Snapshot);
    std::string path = attrs.text(APath);
    if (path != heightName(block.height))
        refuse("the stream creates subvolume \"" + displayPath(path) + "\", announced was " + heightName(block.height));
    if (attrs.uuid(AUuid) != block.uuid)
        refuse("the subvolume's UUID is not the announced block's");
    if (!snapshot) {
        if (block.parentUuid)
            refuse("a full subvolume where an incremental stream was announced");
        return emit_(bytes);
    }
    if (!block.parentUuid)
        refuse("an incremental snapshot where a full stream was announced");
    if (attrs.uuid(ACloneUuid) != *block.parentUuid)
        refuse("the snapshot's parent is not the announced parent block");
    // Checked before it is rewritten: a re-sealed command must have arrived intact.
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
    std::uint32_t stored = le32(copy.data() + 6);
    std::memset(copy.data() + 6, 0, 4);
    if (crc32c(0, copy) != stored)
        refuse("checksum mismatch in the snapshot command");
    btrfs::Uuid own = hooks_.parentCopyUuid(index);
    std::memcpy(copy.data() + (attrs.value[ACloneUuid].data() - bytes.data()), own.data(), own.size());
    std::uint32_t crc = crc32c(0, copy);
    for (std::size_t i = 0; i < 4; ++i)
        copy[6 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
    emit_(copy);
}

} // namespace sc
