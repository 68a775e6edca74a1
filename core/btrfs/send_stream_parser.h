#pragma once
// A streaming parser of the btrfs send stream (protocol 1 and 2): magic and version,
// then commands of TLV attributes, each with a CRC32C. Memory is bounded by one command.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace sc {

enum class SendCommandType : std::uint16_t {
    Unspec = 0, Subvol, Snapshot, Mkfile, Mkdir, Mknod, Mkfifo, Mksock, Symlink, Rename, Link, Unlink, Rmdir,
    SetXattr, RemoveXattr, Write, Clone, Truncate, Chmod, Chown, Utimes, End, UpdateExtent,
    Fallocate, Fileattr, EncodedWrite, EnableVerity,
};

struct SendCommand {
    SendCommandType type = SendCommandType::Unspec;
    std::string path;      // BTRFS_SEND_A_PATH
    std::string pathTo;    // A_PATH_TO (rename destination)
    std::string pathLink;  // A_PATH_LINK (link source, symlink target)
    std::string clonePath; // A_CLONE_PATH
    std::string xattrName;
    std::uint64_t fileOffset = 0;
    std::uint64_t size = 0;       // A_SIZE, or the unencoded length of an encoded write
    std::uint64_t dataLength = 0; // bytes of A_DATA carried by this command (not copied)
    std::uint64_t cloneLength = 0; // A_CLONE_LEN
    std::uint64_t cloneOffset = 0; // A_CLONE_OFFSET
    std::string uuid;      // A_UUID of a subvol or snapshot, 16 raw bytes
    std::string cloneUuid; // A_CLONE_UUID: a snapshot's parent, a clone's source subvolume
    std::uint64_t mode = 0, uid = 0, gid = 0;
};

class SendStreamParser {
public:
    using Handler = std::function<void(const SendCommand&)>;
    explicit SendStreamParser(Handler handler); // checks every command's CRC32C
    void feed(std::span<const std::uint8_t> bytes); // any chunking
    void finish();                                   // throws if the stream stopped mid-command
    std::uint32_t version() const { return version_; }
    std::uint64_t bytesSeen() const { return bytesSeen_; }
    std::uint64_t commandsSeen() const { return commands_; }

private:
    void parseCommand();

    Handler handler_;
    bool haveHeader_ = false;
    std::uint32_t version_ = 0;
    std::uint64_t bytesSeen_ = 0;
    std::uint64_t commands_ = 0;
    std::uint64_t commandStart_ = 0; // stream offset of the command being collected
    std::vector<std::uint8_t> pending_; // the stream header or the current command
};

std::uint32_t crc32c(std::uint32_t seed, std::span<const std::uint8_t> bytes); // raw, as btrfs uses it

} // namespace sc
