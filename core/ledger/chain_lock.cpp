#include "core/ledger/chain_lock.h"

#include "core/base/error.h"
#include "core/base/file_io.h"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace sc {

ChainLock::ChainLock(const std::string& lockFile, const std::string& what, double waitSeconds) {
    fd_.reset(::open(lockFile.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd_)
        throwSystemError("cannot open lock " + lockFile, errno);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(waitSeconds);
    while (flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        if (int err = errno; err != EWOULDBLOCK && err != EINTR)
            throwSystemError("cannot lock " + what, err); // fd_ closes as the constructor throws
        if (std::chrono::steady_clock::now() >= deadline)
            throw Error(what + " is busy: another streamchain process holds its lock", ExitCode::Busy);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

} // namespace sc
