#include "core/btrfs/kernel_diff.h"

#include "core/base/error.h"
#include "core/btrfs/kernel_send.h"
#include "core/btrfs/send_stream_parser.h"

#include <cerrno>
#include <unistd.h>

namespace sc {

ChangeSet kernelDiff(const std::string& parentSnapshot, const std::string& childSnapshot,
                     std::uint64_t* streamBytes, std::uint32_t protocol) {
    ChangeSet changes;
    SendStreamParser parser([&changes](const SendCommand& command) { changes.add(command); });
    KernelSendOptions options;
    options.parent = parentSnapshot;
    options.noFileData = true;
    options.protocol = protocol;
    KernelSend send(childSnapshot, options);
    std::uint8_t buffer[1 << 16];
    while (true) {
        ssize_t n = ::read(send.fd(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throwSystemError("cannot read diff of " + childSnapshot, errno);
        if (n == 0)
            break;
        if (streamBytes)
            *streamBytes += static_cast<std::uint64_t>(n);
        parser.feed(std::span<const std::uint8_t>(buffer, static_cast<std::size_t>(n)));
    }
    send.finish();
    parser.finish();
    return changes;
}

} // namespace sc
