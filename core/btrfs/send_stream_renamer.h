#pragma once
// Gives the subvolumes a send stream creates other names: rewrites the path of each
// SUBVOL and SNAPSHOT command (and re-seals its CRC32C), passes everything else through
// untouched. `btrfs receive` names a subvolume only as the stream says, and btrfs
// refuses to move a read-only received subvolume to another directory, so a receiver
// that must stage a block where it is not yet visible renames it in the stream.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace sc {

class SendStreamRenamer {
public:
    using Rename = std::function<std::string(const std::string& name)>;
    using Emit = std::function<void(std::span<const std::uint8_t>)>;
    SendStreamRenamer(Rename rename, Emit emit);
    void feed(std::span<const std::uint8_t> bytes); // any chunking; emits as soon as it can
    void finish() const;                             // throws if the stream stopped mid-command

private:
    void renameSubvolume();

    Rename rename_;
    Emit emit_;
    bool haveHeader_ = false;
    std::uint64_t passThrough_ = 0;   // bytes left of a command passed on as it is
    std::vector<std::uint8_t> held_; // the stream header, a command header or a whole SUBVOL/SNAPSHOT
};

} // namespace sc
