#pragma once
// BTRFS_IOC_SEND run on a thread of our own, writing into a pipe we read:
// no `btrfs send` process, and direct control of the stream flags.
#include "core/base/file_io.h"

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace sc {

struct KernelSendOptions {
    std::string parent;                    // incremental from this read-only snapshot; empty = full
    std::vector<std::string> cloneSources; // extra snapshots the receiver also holds
    bool noFileData = false;               // metadata only: the kernel's cheap diff
    std::uint32_t protocol = 1;            // 1 or 2
    bool compressedData = false;           // pass compressed extents through (protocol 2 only)
};

// One of several snapshots sent back to back as one stream (btrfs receive takes
// them in one run): each incremental from the one before it.
struct KernelSendPart {
    std::string subvolume;
    std::string parent; // empty = full
};

class KernelSend {
public:
    KernelSend(const std::string& subvolume, const KernelSendOptions& options);
    // Several snapshots in one stream; options.parent is ignored (each part names its own).
    KernelSend(const std::vector<KernelSendPart>& parts, const KernelSendOptions& options);
    ~KernelSend(); // cancels by closing the read end, then joins
    KernelSend(const KernelSend&) = delete;
    KernelSend& operator=(const KernelSend&) = delete;

    int fd() const { return readFd_.get(); } // read the stream from here until EOF
    // Join the sending thread; throws sc::Error naming the subvolume if the ioctl failed.
    void finish();
    void cancel();

private:
    std::string subvolume_;
    FileDescriptor readFd_;
    FileDescriptor writeFd_;
    std::vector<FileDescriptor> subvolumeFds_;
    int ioctlErrno_ = 0;
    std::thread thread_;
};

} // namespace sc
