#include "core/block_diff.h"

#include "core/error.h"
#include "core/kernel_send.h"
#include "core/send_stream.h"

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

#include "core/chain.h"

#include <sys/stat.h>

namespace sc {

const char* pathChangeKindName(PathChange::Kind kind) {
    switch (kind) {
    case PathChange::Kind::Added:
        return "added";
    case PathChange::Kind::Modified:
        return "modified";
    case PathChange::Kind::Deleted:
        return "deleted";
    }
    return "?";
}

static bool existsIn(const std::string& root, const std::string& relative) {
    struct stat st {};
    return ::lstat((root + "/" + relative).c_str(), &st) == 0;
}

std::vector<PathChange> blockChanges(const Chain& chain, std::uint64_t height) {
    std::string block = chain.paths().block(height);
    std::string parent = height > 0 ? chain.paths().block(height - 1) : std::string();
    ChangeSet changes = kernelDiff(parent, block);
    std::vector<PathChange> result;
    const std::string headerDir = kHeaderDirectory;
    for (const auto& path : changes.displayPaths()) {
        if (path.empty() || path == headerDir || path.rfind(headerDir + "/", 0) == 0)
            continue;
        bool now = existsIn(block, path);
        bool before = !parent.empty() && existsIn(parent, path);
        if (!now && !before)
            continue; // an intermediate name the kernel used while reordering
        result.push_back({now && before ? PathChange::Kind::Modified
                                        : (now ? PathChange::Kind::Added : PathChange::Kind::Deleted),
                          path});
    }
    return result;
}

} // namespace sc
