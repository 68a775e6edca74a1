// The byte ranges a ChangeSet records per path from content commands, on hand-built streams.
#include "core/btrfs/change_set.h"
#include "core/btrfs/send_stream_parser.h"
#include "tests/support/send_stream_writer.h"

#include <QTest>
#include <span>

using namespace sc;

namespace {

using sctest::attr;
using sctest::attrU64;
using sctest::SendAttr;
using sctest::SendCmd;
using sctest::SendStreamWriter;

ChangeSet changesOf(const SendStreamWriter& writer) {
    const std::string& bytes = writer.bytes();
    return changeSetFromStream({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

std::vector<ByteRange> rangesOf(const ChangeSet& changes, const std::string& path) {
    const std::vector<ByteRange>* ranges = changes.writtenRanges(path);
    return ranges ? *ranges : std::vector<ByteRange>{};
}

} // namespace

class TestChangeSetRanges : public QObject {
    Q_OBJECT
  private slots:
    void eachContentCommandAddsItsRange() {
        sctest::SendUuid uuid{};
        for (std::uint32_t version : {1u, 2u}) {
            SendStreamWriter w(version);
            w.write("w", 8192, std::string(100, 'x'))
                .clone("c", 1 << 20, 65536, uuid, 3, "source", 4096)
                .updateExtent("u", 4096, 12288)
                .raw(SendCmd::Fallocate,
                     {attr(SendAttr::Path, "f"), attrU64(SendAttr::FallocateMode, 3),
                      attrU64(SendAttr::FileOffset, 40960), attrU64(SendAttr::Size, 8192)})
                .truncate("t", 5000)
                .chmod("m", 0600);
            if (version >= 2) // compressed 128 KiB holding 100 KiB of file from offset 4 KiB into it
                w.raw(SendCmd::EncodedWrite,
                      {attr(SendAttr::Path, "e"), attrU64(SendAttr::FileOffset, 262144),
                       attrU64(SendAttr::UnencodedFileLen, 102400), attrU64(SendAttr::UnencodedLen, 131072),
                       attrU64(SendAttr::UnencodedOffset, 4096), attrU64(SendAttr::Compression, 1),
                       attr(SendAttr::Data, std::string(3000, 'z'))});
            w.end();
            ChangeSet c = changesOf(w);
            QCOMPARE(rangesOf(c, "w"), (std::vector<ByteRange>{{8192, 100}}));
            QCOMPARE(rangesOf(c, "c"), (std::vector<ByteRange>{{1 << 20, 65536}}));
            QVERIFY(!c.writtenRanges("source")); // a clone's source is only read
            QCOMPARE(rangesOf(c, "u"), (std::vector<ByteRange>{{4096, 12288}}));
            QCOMPARE(rangesOf(c, "f"), (std::vector<ByteRange>{{40960, 8192}}));
            QCOMPARE(rangesOf(c, "t"), (std::vector<ByteRange>{{5000, 0}}));
            QVERIFY(!c.writtenRanges("m")); // metadata only
            QVERIFY(!c.isUntouched("m"));
            if (version >= 2) // the unencoded length covers at least the file range written
                QCOMPARE(rangesOf(c, "e"), (std::vector<ByteRange>{{262144, 131072}}));
        }
    }
    void droppedPathsReuseNothingAndStillCountData() {
        SendStreamWriter w(2);
        w.write("a", 0, std::string(100, 'x')).updateExtent("b", 0, 4096).chmod("c", 0600).end();
        const std::string& bytes = w.bytes();
        ChangeSet c;
        SendStreamParser parser([&c](const SendCommand& command) { c.add(command); });
        std::span<const std::uint8_t> all(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        const std::size_t half = bytes.size() / 2;
        parser.feed(all.first(half));
        c.dropPaths();
        parser.feed(all.subspan(half));
        parser.finish();
        QVERIFY(c.pathsDropped && c.touched.empty() && c.written.empty());
        QCOMPARE(c.dataBytes, changesOf(w).dataBytes); // counted before and after the drop
        for (const char* path : {"a", "b", "c", "untouched", ""}) // nothing may be taken from the parent
            QVERIFY(!c.isUntouched(path) && c.hasChangesBelow(path));
    }

    void aCloneOfThePathOntoItselfAddsNoRange() {
        // Where a change splits an extent, the kernel re-sends the rest as such a clone.
        sctest::SendUuid sent{}, parent{}, other{};
        sent[0] = 1;
        parent[0] = 2;
        other[0] = 3;
        SendStreamWriter w(2);
        w.snapshot("000000000002", sent, 9, parent, 8)
            .clone("f", 8192, 4096, parent, 8, "f", 8192)         // the parent's own bytes
            .clone("g", 8192, 4096, sent, 9, "g", 8192)           // onto itself: a no-op
            .clone("h", 8192, 4096, other, 5, "h", 8192)          // another subvolume's "h"
            .clone("i", 8192, 4096, parent, 8, "i", 0)            // another offset
            .clone("j", 8192, 4096, parent, 8, "elsewhere", 8192) // another file
            .end();
        ChangeSet c = changesOf(w);
        QVERIFY(!c.writtenRanges("f"));
        QVERIFY(!c.writtenRanges("g"));
        for (const char* path : {"h", "i", "j"})
            QCOMPARE(rangesOf(c, path), (std::vector<ByteRange>{{8192, 4096}}));
    }
    void truncateAloneMarksContentChanged() {
        SendStreamWriter w(2);
        w.truncate("shrunk", 0).end();
        ChangeSet c = changesOf(w);
        QVERIFY(!c.isUntouched("shrunk"));
        QVERIFY(c.writtenRanges("shrunk"));
        QCOMPARE(rangesOf(c, "shrunk"), (std::vector<ByteRange>{{0, 0}}));
    }
    void adjacentAndOverlappingRangesCoalesce() {
        SendStreamWriter w(2);
        w.updateExtent("f", 0, 4096)
            .updateExtent("f", 4096, 4096)   // touches
            .updateExtent("f", 6000, 10000)  // overlaps
            .updateExtent("f", 20480, 4096)  // a gap: a new range
            .updateExtent("f", 20480, 1000)  // inside the last
            .write("f", 24576, "tail")       // touches
            .truncate("f", 24580)            // at the end of the last: absorbed
            .updateExtent("g", 4096, 4096)   // another path keeps its own
            .updateExtent("f", 100000, 4096) // after g's: still merges into f's own last only
            .truncate("f", 200000)           // beyond: an empty range of its own
            .end();
        ChangeSet c = changesOf(w);
        QCOMPARE(rangesOf(c, "f"),
                 (std::vector<ByteRange>{{0, 16000}, {20480, 4100}, {100000, 4096}, {200000, 0}}));
        QCOMPARE(rangesOf(c, "g"), (std::vector<ByteRange>{{4096, 4096}}));
    }
    void rangesPastTheCapCollapseToTheWholeFile() {
        SendStreamWriter w(2);
        for (std::uint64_t i = 0; i < kMaxWrittenRangesPerPath; ++i)
            w.updateExtent("many", i * 8192, 4096).updateExtent("capped", i * 8192, 4096);
        w.updateExtent("capped", kMaxWrittenRangesPerPath * 8192, 4096).end();
        ChangeSet c = changesOf(w);
        QCOMPARE(rangesOf(c, "many").size(), kMaxWrittenRangesPerPath);
        QCOMPARE(rangesOf(c, "many").back(), (ByteRange{(kMaxWrittenRangesPerPath - 1) * 8192, 4096}));
        QCOMPARE(rangesOf(c, "capped"), std::vector<ByteRange>{kWholeFileRange});
        // Later ranges fall inside the whole file and keep it one range.
        SendStreamWriter more(2);
        for (std::uint64_t i = 0; i <= kMaxWrittenRangesPerPath + 10; ++i)
            more.updateExtent("capped", i * 8192, 4096);
        QCOMPARE(rangesOf(changesOf(more), "capped"), std::vector<ByteRange>{kWholeFileRange});
    }
    void rangesNearTheEndOfTheOffsetSpaceDoNotWrap() {
        SendStreamWriter w(2);
        const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
        w.updateExtent("f", max - 10, 100).end();
        ChangeSet c = changesOf(w);
        QCOMPARE(rangesOf(c, "f"), (std::vector<ByteRange>{{max - 10, 10}}));
    }
};

QTEST_APPLESS_MAIN(TestChangeSetRanges)
#include "test_change_set_ranges.moc"
