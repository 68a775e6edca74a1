#include "core/btrfs/kernel_send.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/base/process.h"
#include "core/btrfs/subvolumes.h"

#include <cerrno>
#include <csignal>
#include <pthread.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace sc {

KernelSend::KernelSend(const std::string& subvolume, const KernelSendOptions& options)
    : KernelSend(std::vector<KernelSendPart>{{subvolume, options.parent}}, options) {}

KernelSend::KernelSend(const std::vector<KernelSendPart>& parts, const KernelSendOptions& options)
    : subvolume_(parts.empty() ? std::string() : parts.back().subvolume) {
    if (parts.empty())
        throw Error("nothing to send");
    struct Part {
        int fd;
        std::uint64_t parentRoot;
        std::vector<__u64> cloneRoots;
    };
    std::vector<Part> prepared;
    for (const auto& part : parts) {
        Part p{-1, 0, {}};
        if (!part.parent.empty()) {
            p.parentRoot = btrfs::subvolumeInfo(part.parent).id;
            p.cloneRoots.push_back(p.parentRoot); // as btrfs-progs does: the parent is also a clone source
        }
        for (const auto& source : options.cloneSources)
            p.cloneRoots.push_back(btrfs::subvolumeInfo(source).id);
        FileDescriptor fd(::open(part.subvolume.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!fd)
            throwSystemError("cannot open " + part.subvolume + " for send", errno);
        p.fd = fd.get();
        subvolumeFds_.push_back(std::move(fd));
        prepared.push_back(std::move(p));
    }
    Pipe stream = openPipe(O_CLOEXEC, "cannot create send pipe");
    readFd_ = std::move(stream.read);
    writeFd_ = std::move(stream.write);
    // A larger pipe halves the context switches between the kernel's writer and our reader.
    fcntl(writeFd_.get(), F_SETPIPE_SZ, kStreamPipeBytes);

    std::uint64_t flags = 0;
    if (options.noFileData)
        flags |= BTRFS_SEND_FLAG_NO_FILE_DATA;
    if (options.protocol >= 2) {
        flags |= BTRFS_SEND_FLAG_VERSION;
        if (options.compressedData)
            flags |= BTRFS_SEND_FLAG_COMPRESSED;
    }
    thread_ = std::thread([this, prepared = std::move(prepared), flags, protocol = options.protocol]() mutable {
        // A cancelled reader closes the pipe: the kernel's write then raises SIGPIPE at
        // this thread. Blocked here, it only makes the ioctl fail with EPIPE.
        sigset_t pipeSignal;
        sigemptyset(&pipeSignal);
        sigaddset(&pipeSignal, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nullptr);
        for (std::size_t i = 0; i < prepared.size() && ioctlErrno_ == 0; ++i) {
            Part& part = prepared[i];
            btrfs_ioctl_send_args args{};
            args.send_fd = writeFd_.get();
            args.clone_sources_count = part.cloneRoots.size();
            args.clone_sources = part.cloneRoots.empty() ? nullptr : part.cloneRoots.data();
            args.parent_root = part.parentRoot;
            // One stream: a single header before the first part, a single end after the last.
            args.flags = flags | (i > 0 ? BTRFS_SEND_FLAG_OMIT_STREAM_HEADER : 0) |
                         (i + 1 < prepared.size() ? BTRFS_SEND_FLAG_OMIT_END_CMD : 0);
            args.version = protocol >= 2 ? protocol : 0;
            if (ioctl(part.fd, BTRFS_IOC_SEND, &args) != 0)
                ioctlErrno_ = errno;
        }
        writeFd_.reset(); // EOF for the reader
    });
}

KernelSend::~KernelSend() {
    cancel();
    if (thread_.joinable())
        thread_.join();
}

void KernelSend::cancel() {
    // The kernel gets EPIPE on its next write and the ioctl returns.
    readFd_.reset();
}

void KernelSend::finish() {
    if (thread_.joinable())
        thread_.join();
    if (ioctlErrno_ != 0)
        throwSystemError("btrfs send of " + subvolume_ + " failed", ioctlErrno_);
}

} // namespace sc
