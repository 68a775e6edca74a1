// When a replica stops spooling: at the first 32 MiB window that the link delivers faster
// than the limit, however slowly the stream began, and not counting the time the replica
// itself held the stream up.
#include "core/replica/spool_window.h"

#include <QTest>

using namespace sc;
using namespace std::chrono_literals;

namespace {
constexpr std::uint64_t kMiB = 1u << 20;

SpoolWindow::Clock::duration secondsOf(double seconds) {
    return std::chrono::duration_cast<SpoolWindow::Clock::duration>(std::chrono::duration<double>(seconds));
}

// Feeds `mib` MiB in 1 MiB pieces that the link delivers at `mibPerSecond`, each then held
// up for `heldUp` seconds by the replica; returns how many MiB were spooled.
std::uint64_t feed(SpoolWindow& window, SpoolWindow::Clock::time_point& now, std::uint64_t mib, double mibPerSecond,
                   double heldUp = 0) {
    std::uint64_t spooled = 0;
    for (std::uint64_t i = 0; i < mib; ++i) {
        now += secondsOf(1 / mibPerSecond);
        if (window.keepSpooling(kMiB, now))
            ++spooled;
        now += secondsOf(heldUp);
        window.heldUp(secondsOf(heldUp));
    }
    return spooled;
}
} // namespace

class TestSpoolWindow : public QObject {
    Q_OBJECT
private slots:
    void aSlowLinkIsSpooledWhole() {
        SpoolWindow window(50e6);
        auto now = SpoolWindow::Clock::time_point{} + 1h;
        QCOMPARE(feed(window, now, 1000, 12), std::uint64_t{1000}); // 100 Mbit/s
    }
    void aFastLinkStopsAfterTheFirstWindow() {
        SpoolWindow window(50e6);
        auto now = SpoolWindow::Clock::time_point{} + 1h;
        QCOMPARE(feed(window, now, 1000, 300), std::uint64_t{31}); // the 32nd MiB closes the window
    }
    void aSlowStartDoesNotKeepAFastStreamSpooling() {
        // 200 MiB of small files at 20 MiB/s, then data at 150 MiB/s: an average since the
        // start would pass 50 MB/s only after ~400 MiB more; the first fast window ends it.
        SpoolWindow window(50e6);
        auto now = SpoolWindow::Clock::time_point{} + 1h;
        QCOMPARE(feed(window, now, 200, 20), std::uint64_t{200});
        std::uint64_t more = feed(window, now, 800, 150);
        QVERIFY2(more < 64, std::to_string(more).c_str());
        QVERIFY(!window.keepSpooling(kMiB, now + 10s)); // stopped for good
    }
    void timeTheReplicaHeldTheStreamUpIsNotTheLinks() {
        // A fast link into a slow receive: 1 MiB every 40 ms arrives at 25 MiB/s, but the
        // link took 5 ms of those; the first window ends spooling.
        SpoolWindow window(50e6);
        auto now = SpoolWindow::Clock::time_point{} + 1h;
        QCOMPARE(feed(window, now, 500, 200, 0.035), std::uint64_t{31});
        // A slow link into a slow receive is still spooled.
        SpoolWindow slow(50e6);
        QCOMPARE(feed(slow, now, 500, 20, 0.035), std::uint64_t{500});
    }
    void zeroMeansAlways() {
        SpoolWindow window(0);
        auto now = SpoolWindow::Clock::time_point{} + 1h;
        QCOMPARE(feed(window, now, 500, 5000), std::uint64_t{500});
    }
};

QTEST_APPLESS_MAIN(TestSpoolWindow)
#include "test_spool_window.moc"
