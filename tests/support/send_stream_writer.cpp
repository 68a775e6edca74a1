#include "tests/support/send_stream_writer.h"

#include <cstring>
#include <stdexcept>

namespace sctest {

namespace {

constexpr char kMagic[] = "btrfs-stream"; // sent with its NUL: 13 bytes
constexpr std::size_t kMagicSize = sizeof kMagic;
constexpr std::size_t kCommandHeader = 4 + 2 + 4;
constexpr auto kData = static_cast<std::uint16_t>(SendAttr::Data);

void put16(std::string& out, std::uint16_t value) {
    out.push_back(static_cast<char>(value & 0xff));
    out.push_back(static_cast<char>(value >> 8));
}

std::uint64_t readLe(std::string_view bytes, std::size_t at, std::size_t size) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size && i < 8; ++i)
        value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    return value;
}

std::string encodeCommand(std::uint16_t type, const std::string& payload) {
    if (payload.size() > 0xffffffffu)
        throw std::runtime_error("send stream writer: command too large");
    std::string command = leU32(static_cast<std::uint32_t>(payload.size()));
    put16(command, type);
    command += leU32(0);
    command += payload;
    std::uint32_t crc = sendStreamCrc32c(0, command);
    command.replace(6, 4, leU32(crc));
    return command;
}

std::string encodeAttributes(std::uint32_t version, const std::vector<SendAttribute>& attributes) {
    std::string payload;
    for (const auto& attribute : attributes) {
        put16(payload, attribute.type);
        if (version >= 2 && attribute.type == kData) {
            payload += attribute.value; // no length: runs to the end of the command
            continue;
        }
        if (attribute.value.size() > 0xffff)
            throw std::runtime_error("send stream writer: attribute " + std::to_string(attribute.type) +
                                     " longer than a 16-bit length");
        put16(payload, static_cast<std::uint16_t>(attribute.value.size()));
        payload += attribute.value;
    }
    return payload;
}

SendAttribute pathAttr(const std::string& path) {
    return attr(SendAttr::Path, path);
}

} // namespace

std::uint32_t sendStreamCrc32c(std::uint32_t seed, std::string_view bytes) {
    static const auto table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1; // Castagnoli, reflected
            t[i] = c;
        }
        return t;
    }();
    std::uint32_t crc = seed;
    for (char b : bytes)
        crc = table[(crc ^ static_cast<unsigned char>(b)) & 0xff] ^ (crc >> 8);
    return crc;
}

std::string leU64(std::uint64_t value) {
    std::string out;
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return out;
}

std::string leU32(std::uint32_t value) {
    std::string out;
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return out;
}

std::string uuidBytes(const SendUuid& uuid) {
    return std::string(reinterpret_cast<const char*>(uuid.data()), uuid.size());
}

std::string timespecBytes(std::int64_t seconds, std::uint32_t nanoseconds) {
    return leU64(static_cast<std::uint64_t>(seconds)) + leU32(nanoseconds);
}

SendAttribute attr(SendAttr type, std::string value) {
    return {static_cast<std::uint16_t>(type), std::move(value)};
}
SendAttribute attrU64(SendAttr type, std::uint64_t value) {
    return attr(type, leU64(value));
}

RawSendCommand::RawSendCommand(SendCmd command, std::vector<SendAttribute> attrs)
    : type(static_cast<std::uint16_t>(command)), attributes(std::move(attrs)) {}

const std::string* RawSendCommand::find(SendAttr which) const {
    const std::string* found = nullptr;
    for (const auto& attribute : attributes)
        if (attribute.type == static_cast<std::uint16_t>(which))
            found = &attribute.value;
    return found;
}

std::string RawSendCommand::text(SendAttr which) const {
    const std::string* value = find(which);
    return value ? *value : std::string();
}

std::uint64_t RawSendCommand::number(SendAttr which) const {
    const std::string* value = find(which);
    return value ? readLe(*value, 0, value->size()) : 0;
}

void RawSendCommand::set(SendAttr which, std::string value) {
    bool replaced = false;
    for (auto& attribute : attributes)
        if (attribute.type == static_cast<std::uint16_t>(which)) {
            attribute.value = value;
            replaced = true;
        }
    if (!replaced)
        attributes.push_back(attr(which, std::move(value)));
}

SendStreamWriter::SendStreamWriter(std::uint32_t version) : version_(version) {
    bytes_.append(kMagic, kMagicSize);
    bytes_ += leU32(version);
}

SendStreamWriter& SendStreamWriter::raw(std::uint16_t type, const std::vector<SendAttribute>& attributes) {
    bytes_ += encodeCommand(type, encodeAttributes(version_, attributes));
    return *this;
}

SendStreamWriter& SendStreamWriter::rawPayload(std::uint16_t type, const std::string& payload) {
    bytes_ += encodeCommand(type, payload);
    return *this;
}

SendStreamWriter& SendStreamWriter::rawBytes(const std::string& bytes) {
    bytes_ += bytes;
    return *this;
}

SendStreamWriter& SendStreamWriter::subvol(const std::string& path, const SendUuid& uuid,
                                           std::uint64_t ctransid) {
    return raw(SendCmd::Subvol, {pathAttr(path), attr(SendAttr::Uuid, uuidBytes(uuid)),
                                 attrU64(SendAttr::Ctransid, ctransid)});
}

SendStreamWriter& SendStreamWriter::snapshot(const std::string& path, const SendUuid& uuid,
                                             std::uint64_t ctransid, const SendUuid& parentUuid,
                                             std::uint64_t parentCtransid) {
    return raw(SendCmd::Snapshot,
               {pathAttr(path), attr(SendAttr::Uuid, uuidBytes(uuid)), attrU64(SendAttr::Ctransid, ctransid),
                attr(SendAttr::CloneUuid, uuidBytes(parentUuid)),
                attrU64(SendAttr::CloneCtransid, parentCtransid)});
}

SendStreamWriter& SendStreamWriter::mkfile(const std::string& path, std::uint64_t ino) {
    return raw(SendCmd::Mkfile, {pathAttr(path), attrU64(SendAttr::Ino, ino)});
}

SendStreamWriter& SendStreamWriter::mkdir(const std::string& path, std::uint64_t ino) {
    return raw(SendCmd::Mkdir, {pathAttr(path), attrU64(SendAttr::Ino, ino)});
}

SendStreamWriter& SendStreamWriter::mknod(const std::string& path, std::uint64_t mode, std::uint64_t rdev,
                                          std::uint64_t ino) {
    return raw(SendCmd::Mknod, {pathAttr(path), attrU64(SendAttr::Ino, ino), attrU64(SendAttr::Rdev, rdev),
                                attrU64(SendAttr::Mode, mode)});
}

SendStreamWriter& SendStreamWriter::mkfifo(const std::string& path, std::uint64_t ino) {
    return raw(SendCmd::Mkfifo, {pathAttr(path), attrU64(SendAttr::Ino, ino), attrU64(SendAttr::Rdev, 0),
                                 attrU64(SendAttr::Mode, 0010600)});
}

SendStreamWriter& SendStreamWriter::mksock(const std::string& path, std::uint64_t ino) {
    return raw(SendCmd::Mksock, {pathAttr(path), attrU64(SendAttr::Ino, ino), attrU64(SendAttr::Rdev, 0),
                                 attrU64(SendAttr::Mode, 0140600)});
}

SendStreamWriter& SendStreamWriter::symlink(const std::string& path, const std::string& target,
                                            std::uint64_t ino) {
    return raw(SendCmd::Symlink,
               {pathAttr(path), attrU64(SendAttr::Ino, ino), attr(SendAttr::PathLink, target)});
}

SendStreamWriter& SendStreamWriter::rename(const std::string& from, const std::string& to) {
    return raw(SendCmd::Rename, {pathAttr(from), attr(SendAttr::PathTo, to)});
}

SendStreamWriter& SendStreamWriter::link(const std::string& path, const std::string& existing) {
    return raw(SendCmd::Link, {pathAttr(path), attr(SendAttr::PathLink, existing)});
}

SendStreamWriter& SendStreamWriter::unlink(const std::string& path) {
    return raw(SendCmd::Unlink, {pathAttr(path)});
}

SendStreamWriter& SendStreamWriter::rmdir(const std::string& path) {
    return raw(SendCmd::Rmdir, {pathAttr(path)});
}

SendStreamWriter& SendStreamWriter::setXattr(const std::string& path, const std::string& name,
                                             const std::string& value) {
    return raw(SendCmd::SetXattr,
               {pathAttr(path), attr(SendAttr::XattrName, name), attr(SendAttr::XattrData, value)});
}

SendStreamWriter& SendStreamWriter::removeXattr(const std::string& path, const std::string& name) {
    return raw(SendCmd::RemoveXattr, {pathAttr(path), attr(SendAttr::XattrName, name)});
}

SendStreamWriter& SendStreamWriter::write(const std::string& path, std::uint64_t offset,
                                          const std::string& data) {
    return raw(SendCmd::Write,
               {pathAttr(path), attrU64(SendAttr::FileOffset, offset), attr(SendAttr::Data, data)});
}

SendStreamWriter& SendStreamWriter::clone(const std::string& path, std::uint64_t offset, std::uint64_t length,
                                          const SendUuid& sourceUuid, std::uint64_t sourceCtransid,
                                          const std::string& sourcePath, std::uint64_t sourceOffset) {
    return raw(SendCmd::Clone,
               {attrU64(SendAttr::FileOffset, offset), attrU64(SendAttr::CloneLen, length), pathAttr(path),
                attr(SendAttr::CloneUuid, uuidBytes(sourceUuid)),
                attrU64(SendAttr::CloneCtransid, sourceCtransid), attr(SendAttr::ClonePath, sourcePath),
                attrU64(SendAttr::CloneOffset, sourceOffset)});
}

SendStreamWriter& SendStreamWriter::truncate(const std::string& path, std::uint64_t size) {
    return raw(SendCmd::Truncate, {pathAttr(path), attrU64(SendAttr::Size, size)});
}

SendStreamWriter& SendStreamWriter::chmod(const std::string& path, std::uint64_t mode) {
    return raw(SendCmd::Chmod, {pathAttr(path), attrU64(SendAttr::Mode, mode)});
}

SendStreamWriter& SendStreamWriter::chown(const std::string& path, std::uint64_t uid, std::uint64_t gid) {
    return raw(SendCmd::Chown, {pathAttr(path), attrU64(SendAttr::Uid, uid), attrU64(SendAttr::Gid, gid)});
}

SendStreamWriter& SendStreamWriter::utimes(const std::string& path, std::int64_t seconds,
                                           std::uint32_t nanoseconds) {
    std::string time = timespecBytes(seconds, nanoseconds);
    return raw(SendCmd::Utimes, {pathAttr(path), attr(SendAttr::Atime, time), attr(SendAttr::Mtime, time),
                                 attr(SendAttr::Ctime, time)});
}

SendStreamWriter& SendStreamWriter::updateExtent(const std::string& path, std::uint64_t offset,
                                                 std::uint64_t length) {
    return raw(SendCmd::UpdateExtent,
               {pathAttr(path), attrU64(SendAttr::FileOffset, offset), attrU64(SendAttr::Size, length)});
}

SendStreamWriter& SendStreamWriter::end() {
    return raw(SendCmd::End, {});
}

std::size_t SplitSendStream::indexOf(SendCmd command, std::size_t from) const {
    for (std::size_t i = from; i < commands.size(); ++i)
        if (commands[i].is(command))
            return i;
    return commands.size();
}

std::string SplitSendStream::encode() const {
    SendStreamWriter writer(version);
    for (const auto& command : commands)
        writer.raw(command);
    return writer.bytes();
}

SplitSendStream splitSendStream(std::string_view stream) {
    auto fail = [](const std::string& what, std::size_t at) {
        throw std::runtime_error("send stream split: " + what + " at offset " + std::to_string(at));
    };
    SplitSendStream split;
    if (stream.size() < kMagicSize + 4 || std::memcmp(stream.data(), kMagic, kMagicSize) != 0)
        fail("no btrfs-stream header", 0);
    split.version = static_cast<std::uint32_t>(readLe(stream, kMagicSize, 4));
    if (split.version < 1 || split.version > 3)
        fail("unsupported version " + std::to_string(split.version), kMagicSize);
    for (std::size_t at = kMagicSize + 4; at < stream.size();) {
        if (stream.size() - at < kCommandHeader)
            fail("truncated command header", at);
        auto length = static_cast<std::size_t>(readLe(stream, at, 4));
        if (stream.size() - at - kCommandHeader < length)
            fail("truncated command", at);
        std::string whole(stream.substr(at, kCommandHeader + length));
        auto stored = static_cast<std::uint32_t>(readLe(whole, 6, 4));
        whole.replace(6, 4, leU32(0));
        if (sendStreamCrc32c(0, whole) != stored)
            fail("CRC mismatch", at);
        RawSendCommand command;
        command.type = static_cast<std::uint16_t>(readLe(whole, 4, 2));
        std::string_view payload = std::string_view(whole).substr(kCommandHeader);
        for (std::size_t p = 0; p < payload.size();) {
            if (payload.size() - p < 2)
                fail("truncated attribute", at);
            SendAttribute attribute;
            attribute.type = static_cast<std::uint16_t>(readLe(payload, p, 2));
            p += 2;
            if (split.version >= 2 && attribute.type == kData) {
                attribute.value = std::string(payload.substr(p));
                p = payload.size();
            } else {
                if (payload.size() - p < 2)
                    fail("truncated attribute", at);
                auto size = static_cast<std::size_t>(readLe(payload, p, 2));
                p += 2;
                if (payload.size() - p < size)
                    fail("attribute overruns its command", at);
                attribute.value = std::string(payload.substr(p, size));
                p += size;
            }
            command.attributes.push_back(std::move(attribute));
        }
        split.commands.push_back(std::move(command));
        at += kCommandHeader + length;
    }
    return split;
}

} // namespace sctest
