#pragma once
// A btrfs send-stream writer for tests, independent of core's parser: streams of
// protocol 1 or 2 built command by command, crafted raw commands, and an existing
// stream (e.g. real `btrfs send` output) split into commands that a test can
// insert, remove or alter before re-encoding them with fresh CRC32Cs.
// Numbers from the kernel's send.h (btrfs-progs kernel-shared/send.h, v6.2).
// Layout: "btrfs-stream\0", le32 version; each command le32 length, le16 type,
// le32 crc32c (over header with a zero crc, then payload); attributes le16 type,
// le16 length, value, except that from protocol 2 on an A_DATA attribute has no
// length and runs to the end of its command (as btrfs receive reads it).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sctest {

enum class SendCmd : std::uint16_t {
    Unspec = 0,
    Subvol = 1,
    Snapshot = 2,
    Mkfile = 3,
    Mkdir = 4,
    Mknod = 5,
    Mkfifo = 6,
    Mksock = 7,
    Symlink = 8,
    Rename = 9,
    Link = 10,
    Unlink = 11,
    Rmdir = 12,
    SetXattr = 13,
    RemoveXattr = 14,
    Write = 15,
    Clone = 16,
    Truncate = 17,
    Chmod = 18,
    Chown = 19,
    Utimes = 20,
    End = 21,
    UpdateExtent = 22,
    Fallocate = 23,
    Fileattr = 24,
    EncodedWrite = 25,
    EnableVerity = 26,
};

enum class SendAttr : std::uint16_t {
    Unspec = 0,
    Uuid = 1,
    Ctransid = 2,
    Ino = 3,
    Size = 4,
    Mode = 5,
    Uid = 6,
    Gid = 7,
    Rdev = 8,
    Ctime = 9,
    Mtime = 10,
    Atime = 11,
    Otime = 12,
    XattrName = 13,
    XattrData = 14,
    Path = 15,
    PathTo = 16,
    PathLink = 17,
    FileOffset = 18,
    Data = 19,
    CloneUuid = 20,
    CloneCtransid = 21,
    ClonePath = 22,
    CloneOffset = 23,
    CloneLen = 24,
    FallocateMode = 25,
    Fileattr = 26,
    UnencodedFileLen = 27,
    UnencodedLen = 28,
    UnencodedOffset = 29,
    Compression = 30,
    Encryption = 31,
    VerityAlgorithm = 32,
    VerityBlockSize = 33,
    VeritySaltData = 34,
    VeritySigData = 35,
};

using SendUuid = std::array<std::uint8_t, 16>;

struct SendAttribute {
    std::uint16_t type = 0;
    std::string value;
};

// One command as it travels: its type and attributes in stream order.
struct RawSendCommand {
    std::uint16_t type = 0;
    std::vector<SendAttribute> attributes;

    RawSendCommand() = default;
    RawSendCommand(SendCmd command, std::vector<SendAttribute> attrs = {});
    bool is(SendCmd command) const { return type == static_cast<std::uint16_t>(command); }
    // The last attribute of that type (btrfs receive keeps the last), or null.
    const std::string* find(SendAttr attr) const;
    std::string text(SendAttr attr) const;      // empty if absent
    std::uint64_t number(SendAttr attr) const;  // little-endian value, 0 if absent
    void set(SendAttr attr, std::string value); // replaces every one of that type, or appends
};

// Attribute values.
std::string leU64(std::uint64_t value);
std::string leU32(std::uint32_t value);
std::string uuidBytes(const SendUuid& uuid);
std::string timespecBytes(std::int64_t seconds, std::uint32_t nanoseconds);
SendAttribute attr(SendAttr type, std::string value);
SendAttribute attrU64(SendAttr type, std::uint64_t value);

class SendStreamWriter {
public:
    explicit SendStreamWriter(std::uint32_t version = 2);
    std::uint32_t version() const { return version_; }

    // Any command, attributes as given (a v2 A_DATA goes without a length: keep it last).
    SendStreamWriter& raw(std::uint16_t type, const std::vector<SendAttribute>& attributes);
    SendStreamWriter& raw(SendCmd type, const std::vector<SendAttribute>& attributes) {
        return raw(static_cast<std::uint16_t>(type), attributes);
    }
    SendStreamWriter& raw(const RawSendCommand& command) { return raw(command.type, command.attributes); }
    // A command whose payload is exactly these bytes (with a correct header and CRC).
    SendStreamWriter& rawPayload(std::uint16_t type, const std::string& payload);
    // Bytes appended as they are: a torn command, garbage, a second stream header.
    SendStreamWriter& rawBytes(const std::string& bytes);

    // The commands the kernel emits, with the attributes it gives them.
    SendStreamWriter& subvol(const std::string& path, const SendUuid& uuid, std::uint64_t ctransid);
    SendStreamWriter& snapshot(const std::string& path, const SendUuid& uuid, std::uint64_t ctransid,
                               const SendUuid& parentUuid, std::uint64_t parentCtransid);
    SendStreamWriter& mkfile(const std::string& path, std::uint64_t ino = 0);
    SendStreamWriter& mkdir(const std::string& path, std::uint64_t ino = 0);
    SendStreamWriter& mknod(const std::string& path, std::uint64_t mode, std::uint64_t rdev,
                            std::uint64_t ino = 0);
    SendStreamWriter& mkfifo(const std::string& path, std::uint64_t ino = 0);
    SendStreamWriter& mksock(const std::string& path, std::uint64_t ino = 0);
    SendStreamWriter& symlink(const std::string& path, const std::string& target, std::uint64_t ino = 0);
    SendStreamWriter& rename(const std::string& from, const std::string& to);
    SendStreamWriter& link(const std::string& path, const std::string& existing);
    SendStreamWriter& unlink(const std::string& path);
    SendStreamWriter& rmdir(const std::string& path);
    SendStreamWriter& setXattr(const std::string& path, const std::string& name, const std::string& value);
    SendStreamWriter& removeXattr(const std::string& path, const std::string& name);
    SendStreamWriter& write(const std::string& path, std::uint64_t offset, const std::string& data);
    SendStreamWriter& clone(const std::string& path, std::uint64_t offset, std::uint64_t length,
                            const SendUuid& sourceUuid, std::uint64_t sourceCtransid,
                            const std::string& sourcePath, std::uint64_t sourceOffset);
    SendStreamWriter& truncate(const std::string& path, std::uint64_t size);
    SendStreamWriter& chmod(const std::string& path, std::uint64_t mode);
    SendStreamWriter& chown(const std::string& path, std::uint64_t uid, std::uint64_t gid);
    SendStreamWriter& utimes(const std::string& path, std::int64_t seconds, std::uint32_t nanoseconds = 0);
    SendStreamWriter& updateExtent(const std::string& path, std::uint64_t offset, std::uint64_t length);
    SendStreamWriter& end();

    const std::string& bytes() const { return bytes_; }

private:
    std::uint32_t version_;
    std::string bytes_;
};

// The commands of a whole stream (CRCs checked); throws std::runtime_error naming the
// offset if it is not a well-formed stream of protocol 1..3.
struct SplitSendStream {
    std::uint32_t version = 0;
    std::vector<RawSendCommand> commands;

    std::size_t indexOf(SendCmd command, std::size_t from = 0) const; // commands.size() if none
    std::string encode() const;                                       // with fresh CRCs
};
SplitSendStream splitSendStream(std::string_view stream);

// The raw CRC32C btrfs uses (seed 0, no final inversion), computed here on its own.
std::uint32_t sendStreamCrc32c(std::uint32_t seed, std::string_view bytes);

} // namespace sctest
