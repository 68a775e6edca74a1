// The renaming of the subvolumes a send stream creates (a plain replica's hidden
// staging): only SUBVOL/SNAPSHOT paths change, CRCs are re-sealed, in any chunking.
#include "core/base/error.h"
#include "core/btrfs/send_stream_renamer.h"
#include "tests/support/send_stream_writer.h"

#include <QTest>

using namespace sc;
using sctest::SendCmd;
using sctest::SendStreamWriter;

namespace {

std::string renamedInChunks(const std::string& stream, std::size_t chunk) {
    std::string out;
    SendStreamRenamer renamer([](const std::string& name) { return ".incoming-" + name; },
                              [&](std::span<const std::uint8_t> bytes) {
                                  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
                              });
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
        std::string_view part = std::string_view(stream).substr(at, chunk);
        renamer.feed({reinterpret_cast<const std::uint8_t*>(part.data()), part.size()});
    }
    renamer.finish();
    return out;
}

SendStreamWriter twoBlocks() {
    sctest::SendUuid first{}, second{};
    first[0] = 1;
    second[0] = 2;
    SendStreamWriter w(2);
    w.subvol("000000000001", first, 7)
        .mkfile("o257-5-0")
        .rename("o257-5-0", "000000000001") // a file may bear a block's name: it stays
        .write("000000000001", 0, std::string(100000, 'x'))
        .snapshot("000000000002", second, 8, first, 7)
        .unlink("000000000001")
        .end();
    return w;
}

} // namespace

class TestSendStreamRenamer : public QObject {
    Q_OBJECT
private slots:
    void renamesOnlyTheSubvolumesInAnyChunking() {
        const std::string stream = twoBlocks().bytes();
        for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, stream.size()}) {
            auto split = sctest::splitSendStream(renamedInChunks(stream, chunk)); // checks every CRC
            auto original = sctest::splitSendStream(stream);
            QCOMPARE(split.commands.size(), original.commands.size());
            for (std::size_t i = 0; i < split.commands.size(); ++i) {
                const auto& got = split.commands[i];
                const auto& was = original.commands[i];
                QCOMPARE(got.type, was.type);
                bool subvolume = was.is(SendCmd::Subvol) || was.is(SendCmd::Snapshot);
                std::string path = was.text(sctest::SendAttr::Path);
                QCOMPARE(got.text(sctest::SendAttr::Path), subvolume ? ".incoming-" + path : path);
                QCOMPARE(got.text(sctest::SendAttr::Uuid), was.text(sctest::SendAttr::Uuid));
                QCOMPARE(got.text(sctest::SendAttr::Data), was.text(sctest::SendAttr::Data));
            }
        }
    }

    void aStreamCutMidCommandIsNotComplete() {
        const std::string stream = twoBlocks().bytes();
        QVERIFY_THROWS_EXCEPTION(Error, renamedInChunks(stream.substr(0, stream.size() - 3), 64));
        QVERIFY_THROWS_EXCEPTION(Error, renamedInChunks(stream.substr(0, 30), 64)); // inside the first SUBVOL
    }
};

QTEST_APPLESS_MAIN(TestSendStreamRenamer)
#include "test_send_stream_renamer.moc"
