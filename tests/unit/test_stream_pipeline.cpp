// zstd in-process compression, the fan-out of one stream to many sinks, and the
// transfer meter that gives progress its rate and ETA.
#include "core/base/error.h"
#include "core/stream/fan_out.h"
#include "core/stream/transfer_meter.h"
#include "core/stream/zstd_codec.h"

#include <QTest>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

using namespace sc;

namespace {

std::string mixedData(std::size_t size) {
    std::mt19937 random(42);
    std::string data;
    while (data.size() < size) {
        data += "log line " + std::to_string(data.size()) + " status=ok\n";
        for (int i = 0; i < 64; ++i)
            data.push_back(static_cast<char>(random()));
    }
    data.resize(size);
    return data;
}

std::span<const std::uint8_t> bytesOf(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string roundTrip(const std::string& input, int threads, std::size_t chunk) {
    ZstdCompressor compressor(3, threads);
    std::string packed;
    for (std::size_t at = 0; at < input.size(); at += chunk)
        compressor.compress(bytesOf(input).subspan(at, std::min(chunk, input.size() - at)), packed);
    compressor.finish(packed);
    ZstdDecompressor decompressor;
    std::string out;
    for (std::size_t at = 0; at < packed.size(); at += 777)
        decompressor.decompress(bytesOf(packed).subspan(at, std::min<std::size_t>(777, packed.size() - at)),
                                [&](std::span<const std::uint8_t> piece) {
                                    out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
                                });
    decompressor.finish();
    return out;
}

class RecordingSink : public StreamSink {
public:
    explicit RecordingSink(std::string name, std::size_t failAfter = SIZE_MAX, int delayMs = 0)
        : name_(std::move(name)), failAfter_(failAfter), delayMs_(delayMs) {}
    void write(std::span<const std::uint8_t> chunk) override {
        if (delayMs_)
            std::this_thread::sleep_for(std::chrono::milliseconds(delayMs_));
        if (received.size() + chunk.size() > failAfter_)
            throw Error(name_ + ": disk full");
        received.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    }
    void finish() override { finished = true; }
    void abort() noexcept override { aborted = true; }
    std::string name() const override { return name_; }
    std::string received;
    std::atomic<bool> finished{false}, aborted{false};

private:
    std::string name_;
    std::size_t failAfter_;
    int delayMs_;
};

} // namespace

class TestStreamPipeline : public QObject {
    Q_OBJECT
private slots:
    void zstdRoundTrips() {
        std::string data = mixedData(3 << 20);
        QVERIFY(roundTrip(data, 0, 1 << 20) == data);
        QVERIFY(roundTrip(data, 2, 12345) == data);
        QVERIFY(roundTrip(std::string(), 0, 1) == std::string());
    }
    void zstdRejectsCorruptAndTruncatedInput() {
        std::string data = mixedData(1 << 20);
        ZstdCompressor compressor(3, 0);
        std::string packed;
        compressor.compress(bytesOf(data), packed);
        compressor.finish(packed);
        auto ignore = [](std::span<const std::uint8_t>) {};
        ZstdDecompressor truncated;
        truncated.decompress(bytesOf(packed).first(packed.size() / 2), ignore);
        QVERIFY_THROWS_EXCEPTION(Error, truncated.finish());
        std::string garbage = packed;
        for (std::size_t i = 0; i < 16; ++i)
            garbage[i] = static_cast<char>(0xA5);
        ZstdDecompressor corrupt;
        QVERIFY_THROWS_EXCEPTION(Error, corrupt.decompress(bytesOf(garbage), ignore));
    }
    void compressionSpecs() {
        QVERIFY(!parseCompressionSpec("none").enabled);
        QVERIFY(parseCompressionSpec("zstd").enabled);
        QCOMPARE(parseCompressionSpec("zstd:19").level, 19);
        QVERIFY_THROWS_EXCEPTION(Error, parseCompressionSpec("zstd:0"));
        QVERIFY_THROWS_EXCEPTION(Error, parseCompressionSpec("zstd:fast"));
        QVERIFY_THROWS_EXCEPTION(Error, parseCompressionSpec("lz4"));
    }
    void fanOutFeedsEverySinkTheSameBytes() {
        RecordingSink a("a"), b("b"), c("c", SIZE_MAX, 1);
        FanOut fan({&a, &b, &c}, 2);
        std::string expected;
        for (int i = 0; i < 200; ++i) {
            auto chunk = std::make_shared<std::string>(std::to_string(i) + std::string(1000, 'x'));
            expected += *chunk;
            QVERIFY(fan.push(chunk));
        }
        auto outcomes = fan.finish();
        for (auto* sink : {&a, &b, &c}) {
            QVERIFY(sink->received == expected);
            QVERIFY(sink->finished);
        }
        for (const auto& o : outcomes)
            QVERIFY(o.ok && o.bytes == expected.size());
    }
    void failingSinkFailsAlone() {
        RecordingSink good("good"), bad("bad", 5000);
        FanOut fan({&good, &bad}, 4);
        std::string expected;
        for (int i = 0; i < 50; ++i) {
            auto chunk = std::make_shared<std::string>(1000, static_cast<char>('a' + i % 26));
            expected += *chunk;
            QVERIFY(fan.push(chunk));
        }
        auto outcomes = fan.finish();
        QVERIFY(outcomes[0].ok);
        QVERIFY(!outcomes[1].ok);
        QVERIFY(outcomes[1].error.find("disk full") != std::string::npos);
        QVERIFY(bad.aborted && !bad.finished);
        QVERIFY(good.received == expected);
    }
    void pushReportsWhenEverySinkFailed() {
        RecordingSink bad("bad", 10);
        FanOut fan({&bad}, 1);
        bool stillHealthy = true;
        for (int i = 0; i < 100 && stillHealthy; ++i) {
            stillHealthy = fan.push(std::make_shared<std::string>(100, 'x'));
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        QVERIFY(!stillHealthy);
        QCOMPARE(fan.healthySinks(), 0u);
        fan.finish();
    }
    void cancelAbortsEverySink() {
        RecordingSink a("a", SIZE_MAX, 5), b("b");
        FanOut fan({&a, &b}, 2);
        fan.push(std::make_shared<std::string>(10, 'x'));
        auto outcomes = fan.cancel("operator cancelled");
        for (const auto& o : outcomes) {
            QVERIFY(!o.ok);
            QVERIFY(o.error.find("operator cancelled") != std::string::npos);
        }
        QVERIFY(a.aborted && b.aborted);
    }
    void meterRateAndEta() {
        double now = 0;
        TransferMeter meter(1000, [&] { return now; });
        now = 1;
        meter.add(100);
        now = 2;
        meter.add(100);
        TransferProgress p = meter.snapshot();
        QCOMPARE(p.bytesDone, 200u);
        QVERIFY(qAbs(p.rate - 100.0) < 1e-9);
        QVERIFY(qAbs(p.etaSeconds - 8.0) < 1e-9);
        // The rate follows the last few seconds, not the whole history.
        now = 10;
        meter.add(0);
        now = 11;
        meter.add(1000);
        p = meter.snapshot();
        QVERIFY(p.rate > 250);
        QCOMPARE(p.etaSeconds, 0.0); // estimates can be low: never negative
        TransferMeter unknown(0, [&] { return now; });
        QCOMPARE(unknown.snapshot().etaSeconds, -1.0);
    }
    void formatting() {
        QCOMPARE(formatBytes(0), std::string("0 B"));
        QCOMPARE(formatBytes(1536), std::string("1.5 KiB"));
        QCOMPARE(formatBytes(3ull << 30), std::string("3.00 GiB"));
        QCOMPARE(formatRate(1048576), std::string("1.0 MiB/s"));
        QCOMPARE(formatDuration(-1), std::string("?"));
        QCOMPARE(formatDuration(125), std::string("2m05s"));
        QCOMPARE(formatDuration(3720), std::string("1h02m"));
    }
};

QTEST_APPLESS_MAIN(TestStreamPipeline)
#include "test_stream_pipeline.moc"
