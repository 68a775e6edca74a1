// The send-stream parser and the ChangeSet it feeds, on hand-built v1 and v2 streams.
#include "core/change_set.h"
#include "core/error.h"
#include "core/send_stream.h"

#include <QTest>

using namespace sc;

namespace {

// A tiny encoder for test streams, following the on-disk format.
class StreamWriter {
public:
    explicit StreamWriter(std::uint32_t version) : version_(version) {
        bytes_.append("btrfs-stream", 13);
        put32(bytes_, version);
    }
    StreamWriter& command(SendCommandType type, std::vector<std::pair<std::uint16_t, std::string>> attrs,
                          std::string v2Data = {}, bool hasV2Data = false) {
        std::string payload;
        for (auto& [attr, value] : attrs) {
            put16(payload, attr);
            put16(payload, static_cast<std::uint16_t>(value.size()));
            payload += value;
        }
        if (hasV2Data) {
            put16(payload, 19); // A_DATA without a length: the rest of the command
            payload += v2Data;
        }
        std::string cmd;
        put32(cmd, static_cast<std::uint32_t>(payload.size()));
        put16(cmd, static_cast<std::uint16_t>(type));
        put32(cmd, 0);
        cmd += payload;
        std::uint32_t crc =
            crc32c(0, std::span(reinterpret_cast<const std::uint8_t*>(cmd.data()), cmd.size()));
        for (int i = 0; i < 4; ++i)
            cmd[static_cast<std::size_t>(6 + i)] = static_cast<char>((crc >> (8 * i)) & 0xff);
        bytes_ += cmd;
        return *this;
    }
    std::string u64(std::uint64_t v) {
        std::string s;
        for (int i = 0; i < 8; ++i)
            s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
        return s;
    }
    std::string& bytes() { return bytes_; }
    std::span<const std::uint8_t> span() const {
        return {reinterpret_cast<const std::uint8_t*>(bytes_.data()), bytes_.size()};
    }

private:
    static void put16(std::string& s, std::uint16_t v) {
        s.push_back(static_cast<char>(v & 0xff));
        s.push_back(static_cast<char>(v >> 8));
    }
    static void put32(std::string& s, std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
            s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
    std::uint32_t version_;
    std::string bytes_;
};

constexpr std::uint16_t kPath = 15, kPathTo = 16, kPathLink = 17, kOffset = 18, kData = 19, kSize = 4;

std::vector<SendCommand> parseAll(std::span<const std::uint8_t> bytes, std::size_t chunk,
                                  SendStreamParser::Mode mode = SendStreamParser::Mode::Verify) {
    std::vector<SendCommand> out;
    SendStreamParser parser([&](const SendCommand& c) { out.push_back(c); }, mode);
    for (std::size_t at = 0; at < bytes.size(); at += chunk)
        parser.feed(bytes.subspan(at, std::min(chunk, bytes.size() - at)));
    parser.finish();
    return out;
}

StreamWriter sampleV1() {
    StreamWriter w(1);
    w.command(SendCommandType::Snapshot, {{kPath, "000000000002"}})
        .command(SendCommandType::Mkfile, {{kPath, "o257-5-0"}})
        .command(SendCommandType::Rename, {{kPath, "o257-5-0"}, {kPathTo, "dir/new file"}})
        .command(SendCommandType::Write, {{kPath, "dir/new file"}, {kOffset, w.u64(0)}, {kData, "hello"}})
        .command(SendCommandType::Rename, {{kPath, "old"}, {kPathTo, "moved"}})
        .command(SendCommandType::Link, {{kPath, "alias"}, {kPathLink, "target"}})
        .command(SendCommandType::Unlink, {{kPath, "gone/x"}})
        .command(SendCommandType::UpdateExtent, {{kPath, "big"}, {kOffset, w.u64(0)}, {kSize, w.u64(1000)}})
        .command(SendCommandType::End, {});
    return w;
}

} // namespace

class TestSendStream : public QObject {
    Q_OBJECT
private slots:
    void parsesV1InAnyChunking() {
        StreamWriter w = sampleV1();
        auto whole = parseAll(w.span(), w.bytes().size());
        auto bytewise = parseAll(w.span(), 1);
        auto odd = parseAll(w.span(), 7);
        QCOMPARE(whole.size(), 9u);
        QCOMPARE(bytewise.size(), whole.size());
        QCOMPARE(odd.size(), whole.size());
        for (std::size_t i = 0; i < whole.size(); ++i) {
            QCOMPARE(bytewise[i].path, whole[i].path);
            QCOMPARE(odd[i].pathTo, whole[i].pathTo);
        }
        QCOMPARE(whole[2].pathTo, std::string("dir/new file"));
        QCOMPARE(whole[3].dataLength, 5u);
        QCOMPARE(whole[5].pathLink, std::string("target"));
        QCOMPARE(whole[7].size, 1000u);
    }
    void parsesV2WriteWithoutDataLength() {
        StreamWriter w(2);
        std::string data(70000, 'z'); // longer than a u16 length could say
        w.command(SendCommandType::Write, {{kPath, "f"}, {kOffset, w.u64(4096)}}, data, true);
        auto commands = parseAll(w.span(), 4096);
        QCOMPARE(commands.size(), 1u);
        QCOMPARE(commands[0].dataLength, 70000u);
        QCOMPARE(commands[0].fileOffset, 4096u);
    }
    void headersOnlyReadsTheSameCommandsWithoutHoldingData() {
        StreamWriter w(2);
        std::string big(200000, 'd'), xattr(60000, 'x');
        w.command(SendCommandType::Snapshot, {{kPath, "000000000002"}})
            .command(SendCommandType::Write, {{kPath, std::string(4000, 'p')}, {kOffset, w.u64(8192)}}, big, true)
            .command(SendCommandType::SetXattr, {{kPath, "f"}, {13, "user.big"}, {14, xattr}})
            .command(SendCommandType::Rename, {{kPath, std::string(4000, 'a')}, {kPathTo, std::string(4000, 'b')}})
            .command(SendCommandType::Write, {{kPath, "small"}, {kOffset, w.u64(0)}}, "tiny", true)
            .command(SendCommandType::End, {});
        for (std::size_t chunk : {std::size_t{1}, std::size_t{4097}, w.bytes().size()}) {
            auto verified = parseAll(w.span(), chunk);
            auto headers = parseAll(w.span(), chunk, SendStreamParser::Mode::HeadersOnly);
            QCOMPARE(headers.size(), verified.size());
            for (std::size_t i = 0; i < verified.size(); ++i) {
                QCOMPARE(headers[i].type, verified[i].type);
                QCOMPARE(headers[i].path, verified[i].path);
                QCOMPARE(headers[i].pathTo, verified[i].pathTo);
                QCOMPARE(headers[i].xattrName, verified[i].xattrName);
                QCOMPARE(headers[i].fileOffset, verified[i].fileOffset);
                QCOMPARE(headers[i].dataLength, verified[i].dataLength);
            }
        }
        // A bad checksum is btrfs receive's to find in this mode; a short stream is still ours.
        std::string flipped = w.bytes();
        flipped[flipped.size() - 20] = static_cast<char>(flipped[flipped.size() - 20] ^ 0x01);
        QCOMPARE(parseAll(std::span(reinterpret_cast<const std::uint8_t*>(flipped.data()), flipped.size()), 512,
                          SendStreamParser::Mode::HeadersOnly)
                     .size(),
                 6u);
        std::string truncated = w.bytes().substr(0, 100000);
        SendStreamParser cut([](const SendCommand&) {}, SendStreamParser::Mode::HeadersOnly);
        cut.feed(std::span(reinterpret_cast<const std::uint8_t*>(truncated.data()), truncated.size()));
        QVERIFY_THROWS_EXCEPTION(Error, cut.finish());
    }
    void headersOnlyRefusesNamesItDidNotHold() {
        // A path after a large attribute would lie beyond the held prefix: refused, not guessed.
        StreamWriter w(1);
        w.command(SendCommandType::SetXattr, {{14, std::string(60000, 'x')}, {kPath, "late"}});
        SendStreamParser parser([](const SendCommand&) {}, SendStreamParser::Mode::HeadersOnly);
        QVERIFY_THROWS_EXCEPTION(Error, parser.feed(w.span()));
        QCOMPARE(parseAll(w.span(), 1000).front().path, std::string("late"));
    }
    void rejectsCorruption() {
        StreamWriter w = sampleV1();
        std::string flipped = w.bytes();
        flipped[40] = static_cast<char>(flipped[40] ^ 0x01);
        SendStreamParser crc([](const SendCommand&) {});
        QVERIFY_THROWS_EXCEPTION(
            Error, crc.feed(std::span(reinterpret_cast<const std::uint8_t*>(flipped.data()), flipped.size())));

        std::string truncated = w.bytes().substr(0, w.bytes().size() - 3);
        SendStreamParser cut([](const SendCommand&) {});
        cut.feed(std::span(reinterpret_cast<const std::uint8_t*>(truncated.data()), truncated.size()));
        QVERIFY_THROWS_EXCEPTION(Error, cut.finish());

        std::string magic = "not-a-stream-at-all";
        SendStreamParser bad([](const SendCommand&) {});
        QVERIFY_THROWS_EXCEPTION(
            Error, bad.feed(std::span(reinterpret_cast<const std::uint8_t*>(magic.data()), magic.size())));
        SendStreamParser empty([](const SendCommand&) {});
        QVERIFY_THROWS_EXCEPTION(Error, empty.finish());
    }
    void crc32cKnownAnswer() {
        // RFC 3720 test vector, with btrfs's raw seed/no-final-xor convention undone.
        std::string text = "123456789";
        std::uint32_t raw = crc32c(0xffffffffu, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), 9));
        QCOMPARE(raw ^ 0xffffffffu, 0xE3069283u);
    }
    void changeSetMarksWhatChanged() {
        ChangeSet c = changeSetFromStream(sampleV1().span());
        QVERIFY(!c.full);
        QCOMPARE(c.dataBytes, 1005u);
        QVERIFY(!c.isUntouched("dir/new file"));
        QVERIFY(!c.isUntouched("moved/inside")); // below a rename destination
        QVERIFY(!c.isUntouched("gone"));         // its listing changed
        QVERIFY(!c.isUntouched("target"));       // gained a link
        QVERIFY(c.isUntouched("unrelated"));
        QVERIFY(c.isUntouched("dir/sibling"));
        QVERIFY(c.hasChangesBelow(""));
        QVERIFY(c.hasChangesBelow("dir"));
        QVERIFY(!c.hasChangesBelow("dir/new file"));
        QVERIFY(!c.hasChangesBelow("unrelated"));
        auto shown = c.displayPaths();
        QVERIFY(std::find(shown.begin(), shown.end(), "dir/new file") != shown.end());
        QVERIFY(std::find(shown.begin(), shown.end(), "o257-5-0") == shown.end());
    }
    void fullStreamTouchesEverything() {
        StreamWriter w(1);
        w.command(SendCommandType::Subvol, {{kPath, "000000000000"}});
        ChangeSet c = changeSetFromStream(w.span());
        QVERIFY(c.full);
        QVERIFY(!c.isUntouched("anything"));
        QVERIFY(c.hasChangesBelow("anything"));
    }
};

QTEST_APPLESS_MAIN(TestSendStream)
#include "test_send_stream.moc"
