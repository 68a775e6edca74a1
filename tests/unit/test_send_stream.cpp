// The send-stream parser and the ChangeSet it feeds, on hand-built v1 and v2 streams.
#include "core/base/error.h"
#include "core/btrfs/change_set.h"
#include "core/btrfs/send_stream_parser.h"
#include "tests/support/send_stream_writer.h"

#include <QTest>

using namespace sc;

namespace {

using sctest::attr;
using sctest::attrU64;
using sctest::SendAttr;
using sctest::SendStreamWriter;

std::span<const std::uint8_t> spanOf(const std::string& bytes) {
    return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
}

std::uint16_t cmd(SendCommandType type) {
    return static_cast<std::uint16_t>(type);
}

std::vector<SendCommand> parseAll(std::span<const std::uint8_t> bytes, std::size_t chunk) {
    std::vector<SendCommand> out;
    SendStreamParser parser([&](const SendCommand& c) { out.push_back(c); });
    for (std::size_t at = 0; at < bytes.size(); at += chunk)
        parser.feed(bytes.subspan(at, std::min(chunk, bytes.size() - at)));
    parser.finish();
    return out;
}

SendStreamWriter sampleV1() {
    SendStreamWriter w(1);
    w.raw(cmd(SendCommandType::Snapshot), {attr(SendAttr::Path, "000000000002")})
        .raw(cmd(SendCommandType::Mkfile), {attr(SendAttr::Path, "o257-5-0")})
        .raw(cmd(SendCommandType::Rename),
             {attr(SendAttr::Path, "o257-5-0"), attr(SendAttr::PathTo, "dir/new file")})
        .raw(cmd(SendCommandType::Write), {attr(SendAttr::Path, "dir/new file"),
                                           attrU64(SendAttr::FileOffset, 0), attr(SendAttr::Data, "hello")})
        .raw(cmd(SendCommandType::Rename), {attr(SendAttr::Path, "old"), attr(SendAttr::PathTo, "moved")})
        .raw(cmd(SendCommandType::Link), {attr(SendAttr::Path, "alias"), attr(SendAttr::PathLink, "target")})
        .raw(cmd(SendCommandType::Unlink), {attr(SendAttr::Path, "gone/x")})
        .raw(cmd(SendCommandType::UpdateExtent),
             {attr(SendAttr::Path, "big"), attrU64(SendAttr::FileOffset, 0), attrU64(SendAttr::Size, 1000)})
        .raw(cmd(SendCommandType::End), {});
    return w;
}

} // namespace

class TestSendStream : public QObject {
    Q_OBJECT
private slots:
    void parsesV1InAnyChunking() {
        SendStreamWriter w = sampleV1();
        auto whole = parseAll(spanOf(w.bytes()), w.bytes().size());
        auto bytewise = parseAll(spanOf(w.bytes()), 1);
        auto odd = parseAll(spanOf(w.bytes()), 7);
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
        SendStreamWriter w(2);
        std::string data(70000, 'z'); // longer than a u16 length could say
        w.raw(cmd(SendCommandType::Write),
              {attr(SendAttr::Path, "f"), attrU64(SendAttr::FileOffset, 4096), attr(SendAttr::Data, data)});
        auto commands = parseAll(spanOf(w.bytes()), 4096);
        QCOMPARE(commands.size(), 1u);
        QCOMPARE(commands[0].dataLength, 70000u);
        QCOMPARE(commands[0].fileOffset, 4096u);
    }
    void rejectsCorruption() {
        SendStreamWriter w = sampleV1();
        std::string flipped = w.bytes();
        flipped[40] = static_cast<char>(flipped[40] ^ 0x01);
        SendStreamParser crc([](const SendCommand&) {});
        QVERIFY_THROWS_EXCEPTION(
            Error,
            crc.feed(std::span(reinterpret_cast<const std::uint8_t*>(flipped.data()), flipped.size())));

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
        std::uint32_t raw =
            crc32c(0xffffffffu, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), 9));
        QCOMPARE(raw ^ 0xffffffffu, 0xE3069283u);
    }
    void changeSetMarksWhatChanged() {
        ChangeSet c = changeSetFromStream(spanOf(sampleV1().bytes()));
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
    void sharedWriterSpeaksTheKernelsNumbers() {
        // The test writer takes its numbers from the kernel's send.h, core from its own table.
        QCOMPARE(static_cast<int>(sctest::SendCmd::UpdateExtent),
                 static_cast<int>(SendCommandType::UpdateExtent));
        QCOMPARE(static_cast<int>(sctest::SendCmd::EnableVerity),
                 static_cast<int>(SendCommandType::EnableVerity));
        sctest::SendUuid uuid{}, parent{};
        uuid[0] = 1;
        parent[15] = 2;
        SendStreamWriter w(2);
        w.snapshot("000000000005", uuid, 7, parent, 6)
            .mkfile("o260-7-0", 260)
            .rename("o260-7-0", "dir/new")
            .write("dir/new", 4096, std::string(70000, 'w'))
            .clone("dir/copy", 0, 4096, parent, 6, "dir/source", 8192)
            .symlink("link", "/target")
            .mknod("dev", 020644, 0x103)
            .setXattr("dir/new", "user.k", "v")
            .chmod("dir/new", 04755)
            .utimes("dir", 1000000000, 5)
            .end();
        auto commands = parseAll(spanOf(w.bytes()), 999);
        QCOMPARE(commands.size(), 11u);
        QCOMPARE(commands[2].pathTo, std::string("dir/new"));
        QCOMPARE(commands[3].dataLength, 70000u);
        QCOMPARE(commands[3].fileOffset, 4096u);
        QCOMPARE(commands[4].clonePath, std::string("dir/source"));
        QCOMPARE(commands[4].cloneLength, 4096u);
        QCOMPARE(commands[4].cloneOffset, 8192u);
        QCOMPARE(commands[4].cloneUuid, sctest::uuidBytes(parent));
        QCOMPARE(commands[0].uuid, sctest::uuidBytes(uuid));
        QCOMPARE(commands[0].cloneUuid, sctest::uuidBytes(parent));
        QCOMPARE(commands[5].pathLink, std::string("/target"));
        QCOMPARE(commands[6].mode, 020644u);
        QCOMPARE(commands[8].mode, 04755u);
        // Split and re-encoded, the stream is the same bytes; altered, it still carries valid CRCs.
        sctest::SplitSendStream split = sctest::splitSendStream(w.bytes());
        QCOMPARE(split.version, 2u);
        QCOMPARE(split.commands.size(), 11u);
        QCOMPARE(split.encode(), w.bytes());
        QCOMPARE(split.commands[3].text(SendAttr::Data).size(), 70000u);
        QCOMPARE(split.commands[4].number(SendAttr::CloneOffset), 8192u);
        split.commands[2].set(SendAttr::PathTo, "elsewhere");
        split.commands.erase(split.commands.begin() + 5);
        auto altered = parseAll(spanOf(split.encode()), 1 << 20);
        QCOMPARE(altered.size(), 10u);
        QCOMPARE(altered[2].pathTo, std::string("elsewhere"));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, sctest::splitSendStream(w.bytes().substr(0, 100)));
    }
    void fullStreamTouchesEverything() {
        SendStreamWriter w(1);
        w.raw(cmd(SendCommandType::Subvol), {attr(SendAttr::Path, "000000000000")});
        ChangeSet c = changeSetFromStream(spanOf(w.bytes()));
        QVERIFY(c.full);
        QVERIFY(!c.isUntouched("anything"));
        QVERIFY(c.hasChangesBelow("anything"));
    }
};

QTEST_APPLESS_MAIN(TestSendStream)
#include "test_send_stream.moc"
