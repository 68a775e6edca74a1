#pragma once
// What a sender's send stream may make `btrfs receive` do on a replica. Receive trusts
// its stream: it normalises paths its own way, and it finds clone and snapshot sources by
// UUID across the whole filesystem and opens them outside its chroot. The gate reads every
// command whole before any of it is passed on and lets through only what a block can
// honestly be: the announced subvolumes in order, canonical paths, clone sources that are
// the block itself or its parent on this replica, and writes within what the signed
// header declares. It points each SNAPSHOT at the replica's own copy of the parent (by
// that copy's own UUID), so receive cannot build on another subvolume that happens to
// carry the same received UUID; a clone from the parent that receive would resolve to
// such another subvolume becomes writes of the same bytes, read from the replica's own
// copy. What receive then wrote is judged by the footprint.
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/base/height_names.h"
#include "core/btrfs/subvolumes.h"

namespace sc {

struct GatedBlock {
    std::uint64_t height = 0;              // the stream must create a subvolume named heightName(height)
    btrfs::Uuid uuid{};                    // the primary snapshot's UUID
    std::optional<btrfs::Uuid> parentUuid; // the primary's UUID of its parent; none: a full stream
    // Bounds from the signed header: no write, clone, truncate or fallocate reaches past
    // maxFileBytes, writes add up to no more than that, and so many names and commands.
    std::uint64_t maxFileBytes = 0;
    std::uint64_t maxNewNames = 0;
    std::uint64_t maxCommands = 0;
};

class StreamGate {
public:
    struct Hooks {
        // The own UUID of the replica's copy of block i's parent (may wait for receive to make it).
        std::function<btrfs::Uuid(std::size_t block)> parentCopyUuid;
        // Where a clone from block i's parent must read: nothing when receive will resolve the
        // parent's UUID to the replica's own copy, else that copy's path (the gate then
        // writes the bytes itself). Throws to refuse.
        std::function<std::optional<std::string>(std::size_t block)> cloneFromParent;
    };
    using Emit = std::function<void(std::span<const std::uint8_t>)>;
    struct BlockTally {
        std::uint64_t commands = 0, dataBytes = 0, newNames = 0;
        std::uint64_t metadataCommands = 0; // all but file data (write, clone, encoded write)
        // Paths a chown named with no chmod after it: receive's chown cleared their
        // set-user-ID and set-group-ID bits, which the kernel meant to keep.
        std::set<std::string> chownedWithoutChmod;
    };

    // Refusals throw sc::Error; nothing of the refused command has been emitted then.
    // maxXattrBytes: name and value together, as btrfs limits them (see btrfs::maxXattrBytes).
    StreamGate(std::vector<GatedBlock> blocks, Hooks hooks, Emit emit, std::uint64_t maxXattrBytes);
    void feed(std::span<const std::uint8_t> bytes);
    void finish(); // throws unless the stream ended with END after every announced block
    const std::vector<BlockTally>& tallies() const { return tallies_; }

    static constexpr std::uint32_t kMaxCommandBytes = 1u << 20; // btrfs send writes at most 16 KiB + 128 KiB

private:
    struct Attributes;
    struct CommandCheck;
    void command(std::span<const std::uint8_t> bytes, bool inPlace);
    void subvolume(std::span<const std::uint8_t> bytes, std::uint16_t type, const Attributes& attrs);
    // True when it sent something in the command's place, else the command passes as it came.
    bool checkContent(std::uint16_t type, const Attributes& attrs);
    void cloneAsWrites(const Attributes& attrs, const std::string& sourceRoot);
    void flush();
    [[noreturn]] void refuse(const std::string& why) const;

    std::vector<GatedBlock> blocks_;
    Hooks hooks_;
    Emit emit_;
    std::vector<BlockTally> tallies_;
    std::uint64_t maxXattrBytes_;
    std::uint32_t version_ = 0;
    bool ended_ = false;
    std::uint64_t offset_ = 0;   // stream offset of the unit being read
    std::vector<std::uint8_t> held_; // an incomplete stream header or command
    std::span<const std::uint8_t> input_;
    std::size_t pendingFrom_ = 0, pendingTo_ = 0; // checked bytes of input_ not yet emitted
};

} // namespace sc
