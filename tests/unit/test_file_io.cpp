// The descriptor owner and the read/write helpers every fd in core/ goes through: each
// descriptor closed exactly once, reads and writes whole across short transfers and EINTR.
#include "core/base/error.h"
#include "core/base/file_io.h"

#include <QTemporaryDir>
#include <QTest>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <pthread.h>
#include <string>
#include <thread>
#include <unistd.h>

using namespace sc;

namespace {

bool isOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

bool isClosed(int fd) { return ::fcntl(fd, F_GETFD) == -1 && errno == EBADF; }

std::string pattern(std::size_t size) {
    std::string text(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        text[i] = static_cast<char>('a' + i % 23);
    return text;
}

void nothing(int) {}

} // namespace

class TestFileIo : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        // A write to a pipe nobody reads must come back as EPIPE, not end the test.
        std::signal(SIGPIPE, SIG_IGN);
    }

    void destructorClosesOnce() {
        int raw = -1;
        {
            FileDescriptor fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            QVERIFY(fd.valid());
            QVERIFY(static_cast<bool>(fd));
            raw = fd.get();
            QVERIFY(isOpen(raw));
        }
        QVERIFY(isClosed(raw));
        FileDescriptor empty;
        QVERIFY(!empty.valid());
        QCOMPARE(empty.get(), -1);
    }

    void moveHandsOverOwnership() {
        Pipe pipe = openPipe(O_CLOEXEC, "pipe");
        const int readEnd = pipe.read.get(), writeEnd = pipe.write.get();
        FileDescriptor moved(std::move(pipe.read));
        QVERIFY(!pipe.read.valid());
        QCOMPARE(moved.get(), readEnd);
        // Assigning over an owner closes what it held.
        moved = std::move(pipe.write);
        QVERIFY(isClosed(readEnd));
        QCOMPARE(moved.get(), writeEnd);
        QVERIFY(isOpen(writeEnd));
        moved = FileDescriptor();
        QVERIFY(isClosed(writeEnd));
    }

    void releaseGivesUpOwnership() {
        int raw = -1;
        {
            FileDescriptor fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            raw = fd.release();
            QVERIFY(!fd.valid());
        }
        QVERIFY(isOpen(raw));
        ::close(raw);
    }

    void resetClosesTheOldDescriptor() {
        FileDescriptor fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        const int first = fd.get();
        const int second = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        fd.reset(second);
        QVERIFY(isClosed(first));
        QCOMPARE(fd.get(), second);
        fd.reset();
        QVERIFY(isClosed(second));
        QVERIFY(!fd.valid());
    }

    void closeReportsAndClosesOnce() {
        FileDescriptor fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        const int raw = fd.get();
        QVERIFY(fd.close());
        QVERIFY(isClosed(raw));
        QVERIFY(!fd.valid());
        QVERIFY(fd.close()); // nothing left to close
        // A descriptor that is not open: the error comes back instead of being lost.
        const int stale = ::dup(0);
        ::close(stale);
        FileDescriptor bad(stale);
        QVERIFY(!bad.close());
        QCOMPARE(errno, EBADF);
    }

    void readFullCollectsShortWrites() {
        Pipe pipe = openPipe(O_CLOEXEC, "pipe");
        const std::string sent = pattern(10000);
        std::thread writer([&] {
            // Pieces of 1 to 997 bytes with pauses: the reader sees many short reads.
            for (std::size_t at = 0, piece = 1; at < sent.size(); at += piece, piece = piece * 7 % 997 + 1) {
                piece = std::min(piece, sent.size() - at);
                writeAll(pipe.write.get(), sent.data() + at, piece, "write");
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
        });
        std::string got(sent.size(), '\0');
        QCOMPARE(readFull(pipe.read.get(), got.data(), got.size(), "read"), sent.size());
        writer.join();
        QCOMPARE(got, sent);
    }

    void readFullStopsAtEof() {
        Pipe pipe = openPipe(O_CLOEXEC, "pipe");
        writeAll(pipe.write.get(), "0123456789", 10, "write");
        pipe.write.reset();
        char buffer[100];
        QCOMPARE(readFull(pipe.read.get(), buffer, sizeof buffer, "read"), std::size_t(10));
        QCOMPARE(std::string(buffer, 10), std::string("0123456789"));
        QCOMPARE(readFull(pipe.read.get(), buffer, sizeof buffer, "read"), std::size_t(0));
    }

    void preadFullReadsAtAnOffsetUpToEof() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("positional").toStdString();
        FileDescriptor fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        writeAll(fd.get(), "0123456789", 10, "write");
        QCOMPARE(::lseek(fd.get(), 2, SEEK_SET), off_t(2));
        char buffer[100];
        QCOMPARE(preadFull(fd.get(), buffer, 4, 5, "read"), std::size_t(4));
        QCOMPARE(std::string(buffer, 4), std::string("5678"));
        QCOMPARE(preadFull(fd.get(), buffer, sizeof buffer, 7, "read"), std::size_t(3)); // short only at EOF
        QCOMPARE(std::string(buffer, 3), std::string("789"));
        QCOMPARE(::lseek(fd.get(), 0, SEEK_CUR), off_t(2)); // its own position untouched
    }

    void readSomeReturnsWhatIsThere() {
        Pipe pipe = openPipe(O_CLOEXEC, "pipe");
        writeAll(pipe.write.get(), "abc", 3, "write");
        char buffer[100];
        QCOMPARE(readSome(pipe.read.get(), buffer, sizeof buffer, "read"), std::size_t(3));
    }

    void readsRetryAfterASignal() {
        // A handler without SA_RESTART: the blocked read returns EINTR and must go on.
        struct sigaction action {}, previous {};
        action.sa_handler = nothing;
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGUSR1, &action, &previous);
        Pipe pipe = openPipe(O_CLOEXEC, "pipe");
        std::size_t got = 0;
        char buffer[4];
        std::thread reader([&] { got = readFull(pipe.read.get(), buffer, sizeof buffer, "read"); });
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ::pthread_kill(reader.native_handle(), SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        writeAll(pipe.write.get(), "wxyz", 4, "write");
        reader.join();
        ::sigaction(SIGUSR1, &previous, nullptr);
        QCOMPARE(got, std::size_t(4));
        QCOMPARE(std::string(buffer, 4), std::string("wxyz"));
    }

    void writeAllOutlastsThePipeBuffer() {
        Pipe pipe = openPipe(O_CLOEXEC, "pipe");
        const std::string sent = pattern(4 << 20); // far beyond a pipe's 64 KiB: many short writes
        std::string got;
        std::thread reader([&] { got = readAllFrom(pipe.read.get(), "pipe", sent.size()); });
        writeAll(pipe.write.get(), sent.data(), sent.size(), "write");
        pipe.write.reset();
        reader.join();
        QVERIFY(got == sent);
    }

    void writeToAClosedPipeFails() {
        Pipe pipe = openPipe(O_CLOEXEC, "pipe");
        pipe.read.reset();
        try {
            writeAll(pipe.write.get(), "x", 1, "cannot write to the reader");
            QFAIL("writeAll succeeded on a pipe without a reader");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).starts_with("cannot write to the reader: "), e.what());
        }
        QCOMPARE(tryWriteAll(pipe.write.get(), "x", 1), EPIPE);
    }

    void readErrorsNameTheRead() {
        FileDescriptor writeOnly(::open("/dev/null", O_WRONLY | O_CLOEXEC));
        char buffer[8];
        try {
            readFull(writeOnly.get(), buffer, sizeof buffer, "cannot read the thing");
            QFAIL("readFull succeeded on a write-only descriptor");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).starts_with("cannot read the thing: "), e.what());
        }
    }

    void smallFilesRoundTrip() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("file").toStdString();
        writeFileAtomically(path, "first");
        writeFileAtomically(path, "second");
        QCOMPARE(readSmallFile(path), std::string("second"));
        QVERIFY_THROWS_EXCEPTION(Error, readSmallFile(path, 3));
    }
};

QTEST_APPLESS_MAIN(TestFileIo)
#include "test_file_io.moc"
