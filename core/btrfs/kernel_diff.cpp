#include "core/btrfs/kernel_diff.h"

#include "core/base/file_io.h"
#include "core/btrfs/kernel_send.h"
#include "core/btrfs/send_stream_parser.h"

namespace sc {

ChangeSet kernelDiff(const std::string& parentSnapshot, const std::string& childSnapshot,
                     std::uint64_t* streamBytes, std::uint32_t protocol, std::size_t maxPaths) {
    ChangeSet changes;
    SendStreamParser parser([&changes](const SendCommand& command) { changes.add(command); });
    KernelSendOptions options;
    options.parent = parentSnapshot;
    options.noFileData = true;
    options.protocol = protocol;
    KernelSend send(childSnapshot, options);
    const std::string failure = "cannot read diff of " + childSnapshot;
    std::uint8_t buffer[1 << 16];
    while (std::size_t n = readSome(send.fd(), buffer, sizeof buffer, failure)) {
        if (streamBytes)
            *streamBytes += n;
        parser.feed(std::span<const std::uint8_t>(buffer, n));
        if (!changes.pathsDropped && changes.touched.size() + changes.replaced.size() > maxPaths)
            changes.dropPaths();
    }
    send.finish();
    parser.finish();
    return changes;
}

} // namespace sc
