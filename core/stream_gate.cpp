#include "core/stream_gate.h"

#include "core/block_header.h"
#include "core/error.h"
#include "core/footprint_tree.h"
#include "core/send_stream.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace sc {

namespace {

constexpr char kMagic[] = "btrfs-stream"; // 13 bytes with its NUL
constexpr std::size_t kStreamHeader = 13 + 4;
constexpr std::size_t kCommandHeader = 4 + 2 + 4;
constexpr std::size_t kMaxPath = 4095; // PATH_MAX less its NUL: receive joins paths in PATH_MAX buffers
constexpr std::size_t kMaxName = 255;
constexpr std::size_t kWriteChunk = 48u << 10; // what the kernel puts in one write command

enum Attr : std::uint16_t {
    AUuid = 1, ACtransid = 2, ASize = 4, AMode = 5, AUid = 6, AGid = 7, ARdev = 8, ACtime = 9, AMtime = 10,
    AAtime = 11, AXattrName = 13, AXattrData = 14, APath = 15, APathTo = 16, APathLink = 17, AFileOffset = 18,
    AData = 19, ACloneUuid = 20, ACloneCtransid = 21, AClonePath = 22, ACloneOffset = 23, ACloneLen = 24,
    AFallocateMode = 25, AFileattr = 26, AUnencodedFileLen = 27,
};
constexpr std::uint16_t kLastAttrV1 = 24, kLastAttrV2 = 31;
constexpr std::uint16_t kLastCommandV1 = 22; // v2 adds fallocate, fileattr, encoded write

std::uint32_t le32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }

const char* commandName(std::uint16_t type) {
    static const char* const names[] = {"unspec", "subvol", "snapshot", "mkfile", "mkdir", "mknod", "mkfifo",
                                        "mksock", "symlink", "rename", "link", "unlink", "rmdir", "set_xattr",
                                        "remove_xattr", "write", "clone", "truncate", "chmod", "chown", "utimes",
                                        "end", "update_extent", "fallocate", "fileattr", "encoded_write",
                                        "enable_verity"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

// What btrfs receive would resolve the same way we read it: relative, no empty, "." or
// ".." component, no NUL (receive reads paths as C strings), within PATH_MAX.
bool isCanonicalPath(std::string_view path) {
    if (path.empty() || path.size() > kMaxPath || path.find('\0') != std::string_view::npos)
        return false;
    for (std::size_t start = 0;;) {
        std::size_t slash = path.find('/', start);
        std::string_view component = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
        if (component.empty() || component == "." || component == ".." || component.size() > kMaxName)
            return false;
        if (slash == std::string_view::npos)
            return true;
        start = slash + 1;
    }
}

// What the kernel sends for a block's contents; not update_extent (metadata-only diffs),
// enable_verity (v3) or anything unknown, which receive would skip silently.
bool isBlockCommand(std::uint16_t type) {
    using T = SendCommandType;
    switch (static_cast<T>(type)) {
    case T::Mkfile: case T::Mkdir: case T::Mknod: case T::Mkfifo: case T::Mksock: case T::Symlink: case T::Rename:
    case T::Link: case T::Unlink: case T::Rmdir: case T::SetXattr: case T::RemoveXattr: case T::Write:
    case T::Clone: case T::Truncate: case T::Chmod: case T::Chown: case T::Utimes: case T::Fallocate:
    case T::Fileattr: case T::EncodedWrite:
        return true;
    default:
        return false;
    }
}

bool addWithin(std::uint64_t a, std::uint64_t b, std::uint64_t limit) { return a <= limit && b <= limit - a; }

} // namespace

// A command's attributes as btrfs receive reads them: in v2 the DATA attribute has no
// length and runs to the end of the command, whatever the command.
struct StreamGate::Attributes {
    std::array<std::span<const std::uint8_t>, kLastAttrV2 + 1> value{};
    std::array<bool, kLastAttrV2 + 1> present{};
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
    if (type == static_cast<std::uint16_t>(SendCommandType::Clone) && inPlace)
        flush(); // the clone-source check may wait on receive
    std::vector<std::uint8_t> replacement = checkContent(type, attrs);
    if (replacement.empty())
        return pass();
    emit_(replacement);
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

std::vector<std::uint8_t> StreamGate::checkContent(std::uint16_t type, const Attributes& attrs) {
    using T = SendCommandType;
    const std::size_t index = tallies_.size() - 1;
    const GatedBlock& block = blocks_[index];
    BlockTally& tally = tallies_.back();
    auto is = [type](T t) { return type == static_cast<std::uint16_t>(t); };
    auto checkPath = [&](std::uint16_t attr, bool rootAllowed) {
        std::string path = attrs.text(attr);
        if (path.size() > kMaxPath)
            refuse(std::string("a path of ") + std::to_string(path.size()) + " bytes in a " + commandName(type) +
                   " command, longer than receive takes (" + std::to_string(kMaxPath) + ")");
        if (!(path.empty() && rootAllowed) && !isCanonicalPath(path))
            refuse(std::string("path \"") + displayPath(path) + "\" in a " + commandName(type) +
                   " command is not canonical (receive would resolve it differently)");
    };
    auto within = [&](std::uint64_t offset, std::uint64_t length) {
        if (!addWithin(offset, length, block.maxFileBytes))
            refuse(std::string("a ") + commandName(type) + " reaching byte " + std::to_string(offset) + "+" +
                   std::to_string(length) + ", past the " + std::to_string(block.maxFileBytes) +
                   " bytes the signed header allows");
    };
    auto written = [&](std::uint64_t length) {
        if (!addWithin(tally.dataBytes, length, block.maxFileBytes))
            refuse("more data than the " + std::to_string(block.maxFileBytes) + " bytes the signed header allows");
        tally.dataBytes += length;
    };
    auto newName = [&] {
        if (++tally.newNames > block.maxNewNames)
            refuse("more new names than the signed header's " + std::to_string(block.maxNewNames) + " entries");
    };
    if (version_ < 2 && type > kLastCommandV1)
        refuse(std::string("a ") + commandName(type) + " command in a version 1 stream");
    if (!isBlockCommand(type))
        refuse(std::string("a ") + commandName(type) + " command (type " + std::to_string(type) +
               ") has no place in a block's stream");
    const bool rootAllowed = is(T::Chmod) || is(T::Chown) || is(T::Utimes) || is(T::SetXattr) ||
                             is(T::RemoveXattr) || is(T::Fileattr);
    checkPath(APath, rootAllowed);
    if (attrs.present[AData] && !is(T::Write) && !is(T::EncodedWrite))
        refuse(std::string("file data in a ") + commandName(type) + " command");
    switch (static_cast<T>(type)) {
    case T::Mkfile: case T::Mkdir: case T::Mkfifo: case T::Mksock: case T::Mknod: case T::Symlink:
        newName();
        break;
    case T::Rename:
        checkPath(APathTo, false);
        if (tally.chownedWithoutChmod.erase(attrs.text(APath)))
            tally.chownedWithoutChmod.insert(attrs.text(APathTo));
        break;
    case T::Link:
        checkPath(APathLink, false);
        newName();
        break;
    case T::Chown:
        tally.chownedWithoutChmod.insert(attrs.text(APath));
        break;
    case T::Chmod:
        tally.chownedWithoutChmod.erase(attrs.text(APath));
        break;
    case T::Unlink: case T::Rmdir: case T::Utimes: case T::Fileattr:
        break;
    case T::SetXattr: case T::RemoveXattr: {
        std::string name = attrs.text(AXattrName);
        if (name.empty() || name.find('\0') != std::string::npos)
            refuse("an xattr name that is empty or holds a NUL byte");
        if (is(T::SetXattr) && name.size() + attrs.raw(AXattrData).size() > maxXattrBytes_)
            refuse("xattr " + displayPath(name) + " of " + std::to_string(attrs.raw(AXattrData).size()) +
                   " bytes, more than btrfs holds here (" + std::to_string(maxXattrBytes_) + " with its name)");
        break;
    }
    case T::Write: {
        std::uint64_t length = attrs.raw(AData).size();
        within(attrs.u64(AFileOffset), length);
        written(length);
        break;
    }
    case T::EncodedWrite: {
        std::uint64_t length = attrs.u64(AUnencodedFileLen);
        within(attrs.u64(AFileOffset), length);
        written(length);
        break;
    }
    case T::Truncate:
        within(attrs.u64(ASize), 0);
        break;
    case T::Fallocate:
        within(attrs.u64(AFileOffset), attrs.u64(ASize));
        break;
    case T::Clone: {
        checkPath(AClonePath, false);
        if (attrs.u64(ACloneLen) == 0)
            refuse("a clone of length 0 (to the end of its source; btrfs send never sends one)");
        within(attrs.u64(AFileOffset), attrs.u64(ACloneLen));
        btrfs::Uuid source = attrs.uuid(ACloneUuid);
        if (source == block.uuid)
            break; // within the block being received, inside receive's chroot
        if (!block.parentUuid || source != *block.parentUuid)
            refuse("a clone source that is neither this block nor its parent");
        if (std::optional<std::string> ourCopy = hooks_.cloneFromParent(index))
            return cloneAsWrites(attrs, *ourCopy);
        break;
    }
    default:
        break;
    }
    return {};
}

// The bytes a clone from the parent would share, written instead, read from the replica's
// own copy of the parent: beneath its root, through no symlink, a regular file.
std::vector<std::uint8_t> StreamGate::cloneAsWrites(const Attributes& attrs, const std::string& sourceRoot) const {
    const std::string clonePath = attrs.text(AClonePath);
    int root = ::open(sourceRoot.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        refuse("cannot open the parent copy " + displayPath(sourceRoot));
    open_how how{};
    how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    int fd = static_cast<int>(::syscall(SYS_openat2, root, clonePath.c_str(), &how, sizeof how));
    ::close(root);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            ::close(fd);
        refuse("clone source \"" + displayPath(clonePath) + "\" is not a regular file in the parent block");
    }
    const std::string path = attrs.text(APath);
    const std::uint64_t offset = attrs.u64(AFileOffset), length = attrs.u64(ACloneLen);
    const std::uint64_t sourceOffset = attrs.u64(ACloneOffset);
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> data(kWriteChunk);
    auto put16 = [&](std::uint16_t v) { out.push_back(static_cast<std::uint8_t>(v)), out.push_back(static_cast<std::uint8_t>(v >> 8)); };
    auto put32 = [&](std::uint32_t v) { for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i))); };
    for (std::uint64_t done = 0; done < length;) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kWriteChunk, length - done));
        ssize_t n = ::pread(fd, data.data(), want, static_cast<off_t>(sourceOffset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ::close(fd);
            refuse("cannot read the clone source \"" + displayPath(clonePath) + "\" in the parent block");
        }
        if (n == 0)
            break; // the source ends here, as a clone would have
        const std::size_t start = out.size();
        put32(0), put16(static_cast<std::uint16_t>(SendCommandType::Write)), put32(0);
        put16(APath), put16(static_cast<std::uint16_t>(path.size()));
        out.insert(out.end(), path.begin(), path.end());
        put16(AFileOffset), put16(8);
        for (int i = 0; i < 8; ++i)
            out.push_back(static_cast<std::uint8_t>((offset + done) >> (8 * i)));
        put16(AData);
        if (version_ < 2)
            put16(static_cast<std::uint16_t>(n));
        out.insert(out.end(), data.begin(), data.begin() + n);
        const std::uint32_t bodyLength = static_cast<std::uint32_t>(out.size() - start - kCommandHeader);
        for (std::size_t i = 0; i < 4; ++i)
            out[start + i] = static_cast<std::uint8_t>(bodyLength >> (8 * i));
        const std::uint32_t crc = crc32c(0, std::span(out.data() + start, out.size() - start));
        for (std::size_t i = 0; i < 4; ++i)
            out[start + 6 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
        done += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    if (out.empty())
        refuse("clone source \"" + displayPath(clonePath) + "\" ends before the cloned range");
    return out;
}

} // namespace sc
