#include "core/base/file_io.h"

#include "core/base/error.h"
#include "core/base/hash.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sc {

void writeFileAtomically(const std::string& path, const std::string& contents, unsigned mode) {
    std::string temp = path + ".tmp-" + randomHex(4);
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        throwSystemError("cannot create " + temp, errno);
    std::size_t done = 0;
    while (done < contents.size()) {
        ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            ::unlink(temp.c_str());
            throwSystemError("cannot write " + path, err);
        }
        done += static_cast<std::size_t>(n);
    }
    if (fsync(fd) != 0 || ::close(fd) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        throwSystemError("cannot write " + path, err);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        throwSystemError("cannot replace " + path, err);
    }
}

std::string readSmallFile(const std::string& path, std::size_t limit) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throwSystemError("cannot open " + path, errno);
    try {
        std::string out = readAllFrom(fd, path, limit);
        ::close(fd);
        return out;
    } catch (...) {
        ::close(fd);
        throw;
    }
}

std::string readAllFrom(int fd, const std::string& what, std::size_t limit) {
    std::string out;
    char buffer[16384];
    while (true) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throwSystemError("cannot read " + what, errno);
        if (n == 0)
            return out;
        out.append(buffer, static_cast<std::size_t>(n));
        if (out.size() > limit)
            throw Error(what + " is unexpectedly large");
    }
}

} // namespace sc
