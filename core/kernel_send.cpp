#include "core/kernel_send.h"

#include "core/btrfs.h"
#include "core/error.h"

#include <cerrno>
#include <csignal>
#include <pthread.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace sc {

KernelSend::KernelSend(const std::string& subvolume, const KernelSendOptions& options) : subvolume_(subvolume) {
    std::vector<__u64> cloneRoots;
    std::uint64_t parentRoot = 0;
    if (!options.parent.empty()) {
        parentRoot = btrfs::subvolumeInfo(options.parent).id;
        cloneRoots.push_back(parentRoot); // as btrfs-progs does: the parent is also a clone source
    }
    for (const auto& source : options.cloneSources)
        cloneRoots.push_back(btrfs::subvolumeInfo(source).id);

    subvolumeFd_ = ::open(subvolume.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (subvolumeFd_ < 0)
        throwSystemError("cannot open " + subvolume + " for send", errno);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        ::close(subvolumeFd_);
        throwSystemError("cannot create send pipe", errno);
    }
    readFd_ = fds[0];
    writeFd_ = fds[1];
    // A larger pipe halves the context switches between the kernel's writer and our reader.
    fcntl(writeFd_, F_SETPIPE_SZ, 1 << 20);

    std::uint64_t flags = 0;
    if (options.noFileData)
        flags |= BTRFS_SEND_FLAG_NO_FILE_DATA;
    if (options.protocol >= 2) {
        flags |= BTRFS_SEND_FLAG_VERSION;
        if (options.compressedData)
            flags |= BTRFS_SEND_FLAG_COMPRESSED;
    }
    thread_ = std::thread([this, cloneRoots, parentRoot, flags, protocol = options.protocol]() mutable {
        // A cancelled reader closes the pipe: the kernel's write then raises SIGPIPE at
        // this thread. Blocked here, it only makes the ioctl fail with EPIPE.
        sigset_t pipeSignal;
        sigemptyset(&pipeSignal);
        sigaddset(&pipeSignal, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nullptr);
        btrfs_ioctl_send_args args{};
        args.send_fd = writeFd_;
        args.clone_sources_count = cloneRoots.size();
        args.clone_sources = cloneRoots.empty() ? nullptr : cloneRoots.data();
        args.parent_root = parentRoot;
        args.flags = flags;
        args.version = protocol >= 2 ? protocol : 0;
        if (ioctl(subvolumeFd_, BTRFS_IOC_SEND, &args) != 0)
            ioctlErrno_ = errno;
        ::close(writeFd_); // EOF for the reader
        writeFd_ = -1;
    });
}

KernelSend::~KernelSend() {
    cancel();
    if (thread_.joinable())
        thread_.join();
    if (subvolumeFd_ >= 0)
        ::close(subvolumeFd_);
}

void KernelSend::cancel() {
    // The kernel gets EPIPE on its next write and the ioctl returns.
    if (readFd_ >= 0)
        ::close(readFd_);
    readFd_ = -1;
}

void KernelSend::finish() {
    if (thread_.joinable())
        thread_.join();
    if (ioctlErrno_ != 0)
        throwSystemError("btrfs send of " + subvolume_ + " failed", ioctlErrno_);
}

} // namespace sc
