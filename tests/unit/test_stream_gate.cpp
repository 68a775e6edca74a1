// The StreamGate on streams written by the test tree's own writer: an honest stream
// passes byte for byte however it is cut (only the SNAPSHOT's parent is re-pointed),
// and every crafted command is refused before any of it is passed on.
#include "core/base/error.h"
#include "core/base/height_names.h"
#include "core/ledger/block_header.h"
#include "core/replica/stream_gate.h"
#include "tests/support/btrfs_fixture.h"
#include "tests/support/send_stream_writer.h"

#include <QTest>
#include <cstdio>
#include <random>
#include <set>
#include <unistd.h>

using namespace sc;
using namespace sctest;

namespace {

SendUuid filled(std::uint8_t byte) {
    SendUuid uuid{};
    uuid.fill(byte);
    return uuid;
}
btrfs::Uuid asUuid(const SendUuid& uuid) { return uuid; }

const SendUuid kBlock = filled(0xb1), kParent = filled(0xa0), kOwnParent = filled(0xc0), kStranger = filled(0x5c);
constexpr std::uint64_t kHeight = 7;

GatedBlock gated(bool incremental) {
    GatedBlock block;
    block.height = kHeight;
    block.uuid = asUuid(kBlock);
    if (incremental)
        block.parentUuid = asUuid(kParent);
    block.maxFileBytes = 1 << 20;
    block.maxNewNames = 16;
    block.maxCommands = 200;
    return block;
}

struct GateRun {
    std::string emitted;
    std::string refusal;
    int cloneChecks = 0;
    std::vector<StreamGate::BlockTally> tallies;
};

// Feeds `stream` in pieces whose sizes come from `seed` (0: whole).
GateRun runGate(const std::string& stream, std::vector<GatedBlock> blocks, std::uint64_t seed = 0,
                bool cloneCheckRefuses = false, const std::string& readCloneFrom = {}) {
    GateRun run;
    StreamGate::Hooks hooks{[](std::size_t) { return asUuid(kOwnParent); },
                            [&](std::size_t) -> std::optional<std::string> {
                                ++run.cloneChecks;
                                if (cloneCheckRefuses)
                                    throw Error("clone source resolves elsewhere");
                                if (!readCloneFrom.empty())
                                    return readCloneFrom;
                                return std::nullopt;
                            }};
    StreamGate gate(std::move(blocks), hooks,
                    [&](std::span<const std::uint8_t> bytes) {
                        run.emitted.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
                    },
                    16000);
    std::mt19937_64 random(seed);
    try {
        for (std::size_t at = 0; at < stream.size();) {
            std::size_t piece = seed == 0 ? stream.size() : 1 + random() % (random() % 2 ? 7 : 70000);
            piece = std::min(piece, stream.size() - at);
            gate.feed(std::span(reinterpret_cast<const std::uint8_t*>(stream.data() + at), piece));
            at += piece;
        }
        gate.finish();
    } catch (const Error& e) {
        run.refusal = e.what();
    }
    run.tallies = gate.tallies();
    return run;
}

SendStreamWriter fullBody(SendStreamWriter w) {
    w.subvol(heightName(kHeight), kBlock, 1);
    w.mkdir("dir").mkfile("dir/f").write("dir/f", 0, std::string(60000, 'a')).chmod("dir/f", 0644);
    w.write("dir/f", 60000, std::string(45000, 'b')).setXattr("dir/f", "user.k", "v").chown("", 0, 0);
    w.symlink("dir/l", "../anything/at/all").link("dir/g", "dir/f").utimes("", 1, 2);
    return w;
}

std::string incrementalStream(const std::function<void(SendStreamWriter&)>& middle, std::uint32_t version = 2) {
    SendStreamWriter w(version);
    w.snapshot(heightName(kHeight), kBlock, 2, kParent, 1);
    w.mkfile("o260-1-0").rename("o260-1-0", "dir/new").write("dir/new", 0, "new bytes");
    middle(w);
    w.end();
    return w.bytes();
}

} // namespace

class TestStreamGate : public QObject {
    Q_OBJECT
private slots:
    void honestStreamPassesByteForByteHoweverCut() {
        for (std::uint32_t version : {1u, 2u}) {
            SendStreamWriter w = fullBody(SendStreamWriter(version));
            w.end();
            for (std::uint64_t seed = 0; seed < 200; ++seed) {
                GateRun run = runGate(w.bytes(), {gated(false)}, seed);
                std::string where = "version " + std::to_string(version) + " seed " + std::to_string(seed);
                QVERIFY2(run.refusal.empty(), (where + ": " + run.refusal).c_str());
                QVERIFY2(run.emitted == w.bytes(), where.c_str());
            }
        }
    }

    void snapshotIsRepointedAtTheReplicasOwnParent() {
        std::string stream = incrementalStream([](SendStreamWriter& w) {
            w.clone("dir/copy", 0, 4096, kParent, 1, "dir/f", 0).clone("dir/copy", 4096, 10, kBlock, 2, "dir/new", 0);
        });
        for (std::uint64_t seed = 0; seed < 100; ++seed) {
            GateRun run = runGate(stream, {gated(true)}, seed);
            QVERIFY2(run.refusal.empty(), run.refusal.c_str());
            QCOMPARE(run.cloneChecks, 1); // the parent clone asks, the block's own does not
            SplitSendStream out = splitSendStream(run.emitted); // CRCs checked here
            SplitSendStream in = splitSendStream(stream);
            QCOMPARE(out.commands.front().text(SendAttr::CloneUuid), uuidBytes(kOwnParent));
            in.commands.front().set(SendAttr::CloneUuid, uuidBytes(kOwnParent));
            QVERIFY(out.encode() == in.encode());
        }
    }

    void craftedCommandsAreRefusedBeforeAnyOfThemPasses() {
        struct Case {
            const char* name;
            std::function<void(SendStreamWriter&)> attack;
            const char* reason;
        };
        const std::vector<Case> cases = {
            {"leading slash", [](auto& w) { w.write("/dir/f", 0, "x"); }, "not canonical"},
            {"dot component", [](auto& w) { w.chmod("./dir/f", 04755); }, "not canonical"},
            {"dot-dot", [](auto& w) { w.rename("dir/new", "../out"); }, "not canonical"},
            {"empty component", [](auto& w) { w.write("dir//f", 0, "x"); }, "not canonical"},
            {"trailing slash", [](auto& w) { w.unlink("dir/f/"); }, "not canonical"},
            {"NUL in a path", [](auto& w) { w.write(std::string("dir/f\0/../../x", 14), 0, "x"); }, "not canonical"},
            {"root as a file", [](auto& w) { w.write("", 0, "x"); }, "not canonical"},
            {"link source escapes", [](auto& w) { w.link("dir/h", "../../etc/passwd"); }, "not canonical"},
            {"clone path escapes", [](auto& w) { w.clone("dir/f", 0, 1, kParent, 1, "../../k", 0); }, "not canonical"},
            {"foreign clone source", [](auto& w) { w.clone("dir/f", 0, 1, kStranger, 1, "f", 0); }, "neither"},
            {"write past the header's bytes", [](auto& w) { w.write("dir/f", std::uint64_t{1} << 46, "x"); },
             "past the"},
            {"offset overflow", [](auto& w) { w.write("dir/f", ~std::uint64_t{0}, "xx"); }, "past the"},
            {"truncate past", [](auto& w) { w.truncate("dir/f", std::uint64_t{1} << 40); }, "past the"},
            {"too much data", [](auto& w) {
                 for (int i = 0; i < 12; ++i)
                     w.write("dir/f", 0, std::string(100000, 'z'));
             }, "more data"},
            {"too many names", [](auto& w) {
                 for (int i = 0; i < 20; ++i)
                     w.mkfile("n" + std::to_string(i));
             }, "new names"},
            {"update_extent", [](auto& w) { w.updateExtent("dir/f", 0, 10); }, "no place"},
            {"unknown type", [](auto& w) { w.raw(99, {attr(SendAttr::Path, "dir/f")}); }, "no place"},
            {"data in a chmod", [](auto& w) { w.raw(SendCmd::Chmod, {attr(SendAttr::Path, "f"), attr(SendAttr::Data, "")}); },
             "file data"},
            {"attribute twice", [](auto& w) {
                 w.raw(SendCmd::Unlink, {attr(SendAttr::Path, "dir/f"), attr(SendAttr::Path, "../x")});
             }, "twice"},
            {"second subvolume", [](auto& w) { w.subvol(heightName(kHeight + 1), kStranger, 1); }, "more subvolumes"},
            {"huge xattr", [](auto& w) { w.setXattr("dir/f", "user.big", std::string(20000, 'x')); }, "xattr"},
        };
        for (const auto& c : cases) {
            std::string stream = incrementalStream(c.attack);
            // What may pass: the stream as the gate re-points it, up to the refused command.
            SplitSendStream repointed = splitSendStream(stream);
            repointed.commands.front().set(SendAttr::CloneUuid, uuidBytes(kOwnParent));
            const std::string allowed = repointed.encode();
            for (std::uint64_t seed : {0u, 1u, 2u, 3u}) {
                GateRun run = runGate(stream, {gated(true)}, seed);
                std::string where = std::string(c.name) + " (seed " + std::to_string(seed) + ")";
                QVERIFY2(run.refusal.find(c.reason) != std::string::npos, (where + ": " + run.refusal).c_str());
                const std::string marker = "refused at offset ";
                std::size_t at = run.refusal.find(marker);
                QVERIFY2(at != std::string::npos, run.refusal.c_str());
                std::size_t refusedAt = std::stoull(run.refusal.substr(at + marker.size()));
                QVERIFY2(run.emitted.size() <= refusedAt && allowed.compare(0, run.emitted.size(), run.emitted) == 0,
                         (where + ": passed " + std::to_string(run.emitted.size()) + " bytes, refused at " +
                          std::to_string(refusedAt)).c_str());
            }
        }
    }

    void theStreamMustBeWhatWasAnnounced() {
        auto refusalOf = [](const std::string& stream, std::vector<GatedBlock> blocks) {
            return runGate(stream, std::move(blocks), 5).refusal;
        };
        SendStreamWriter full = fullBody(SendStreamWriter(2));
        full.end();
        QVERIFY(contains(refusalOf(full.bytes(), {gated(true)}), "full subvolume"));
        QVERIFY(contains(refusalOf(incrementalStream([](auto&) {}), {gated(false)}), "incremental snapshot"));
        GatedBlock other = gated(true);
        other.height = kHeight + 1;
        QVERIFY(contains(refusalOf(incrementalStream([](auto&) {}), {other}), "announced was"));
        GatedBlock otherParent = gated(true);
        otherParent.parentUuid = asUuid(kStranger);
        QVERIFY(contains(refusalOf(incrementalStream([](auto&) {}), {otherParent}), "announced parent"));
        GatedBlock otherUuid = gated(true);
        otherUuid.uuid = asUuid(kStranger);
        QVERIFY(contains(refusalOf(incrementalStream([](auto&) {}), {otherUuid}), "UUID"));
        QVERIFY(contains(refusalOf(incrementalStream([](auto&) {}), {gated(true), other}), "1 of 2"));
        std::string honest = incrementalStream([](auto&) {});
        QVERIFY(contains(refusalOf(honest + "x", {gated(true)}), "follow the end"));
        QVERIFY(contains(refusalOf(honest.substr(0, honest.size() - 3), {gated(true)}), "truncated"));
        QVERIFY(contains(refusalOf(honest.substr(0, honest.size() - 10), {gated(true)}), "without its end"));
        QVERIFY(contains(refusalOf("", {gated(true)}), "empty"));
        std::string v3 = honest;
        v3[13] = 3;
        QVERIFY(contains(refusalOf(v3, {gated(true)}), "version 3"));
        QVERIFY(contains(refusalOf(std::string("not-a-stream-at-all"), {gated(true)}), "not a btrfs send stream"));
        SendStreamWriter v1(1);
        v1.snapshot(heightName(kHeight), kBlock, 2, kParent, 1);
        v1.raw(SendCmd::Fallocate, {attr(SendAttr::Path, "f")}).end();
        QVERIFY(contains(refusalOf(v1.bytes(), {gated(true)}), "version 1 stream"));
        SplitSendStream corrupt = splitSendStream(honest);
        std::string bad = corrupt.encode();
        bad[17 + 10 + 40] ^= 1; // the SNAPSHOT's ctransid: its CRC no longer holds
        QVERIFY(contains(refusalOf(bad, {gated(true)}), "checksum"));
    }

    void aCloneCheckThatFailsRefusesTheClone() {
        std::string stream = incrementalStream(
            [](SendStreamWriter& w) { w.clone("dir/copy", 0, 4096, kParent, 1, "dir/f", 0); });
        GateRun run = runGate(stream, {gated(true)}, 0, /*cloneCheckRefuses=*/true);
        QVERIFY2(contains(run.refusal, "clone source resolves elsewhere"), run.refusal.c_str());
    }

    // Where receive would find another subvolume's copy of the parent, the clone becomes
    // writes of the same bytes read from the replica's own copy, never through a symlink.
    void aCloneReceiveWouldMisresolveBecomesWrites() {
        sctest::TempDir parentCopy("gate-parent");
        std::string bytes;
        for (int i = 0; i < 120000; ++i)
            bytes.push_back(static_cast<char>('a' + i % 23));
        sctest::writeFile(parentCopy.path() + "/f", bytes);
        ::symlink("f", (parentCopy.path() + "/link").c_str());
        for (std::uint32_t version : {1u, 2u}) {
            std::string stream = incrementalStream(
                [](SendStreamWriter& w) { w.clone("dir/copy", 4096, 100000, kParent, 1, "f", 1000); }, version);
            GateRun run = runGate(stream, {gated(true)}, 3, false, parentCopy.path());
            QVERIFY2(run.refusal.empty(), run.refusal.c_str());
            SplitSendStream out = splitSendStream(run.emitted);
            std::string written;
            std::uint64_t next = 4096;
            for (const auto& command : out.commands) {
                QVERIFY(!command.is(SendCmd::Clone));
                if (command.is(SendCmd::Write) && command.text(SendAttr::Path) == "dir/copy") {
                    QCOMPARE(command.number(SendAttr::FileOffset), next);
                    written += command.text(SendAttr::Data);
                    next += command.text(SendAttr::Data).size();
                }
            }
            QVERIFY(written == bytes.substr(1000, 100000));
            std::string throughLink = incrementalStream(
                [](SendStreamWriter& w) { w.clone("dir/copy", 0, 10, kParent, 1, "link", 0); }, version);
            QVERIFY(contains(runGate(throughLink, {gated(true)}, 0, false, parentCopy.path()).refusal, "not a regular file"));
        }
    }

    // Paths whose set-id bits receive's chown clears for good: chowned with no chmod after.
    void chownsWithoutAChmodAreNoted() {
        std::string stream = incrementalStream([](SendStreamWriter& w) {
            w.chown("dir/a", 1, 1).chmod("dir/a", 04755);
            w.chown("dir/b", 2, 2).rename("dir/b", "dir/c");
            w.chown("dir/d", 3, 3);
        });
        GateRun run = runGate(stream, {gated(true)});
        QVERIFY2(run.refusal.empty(), run.refusal.c_str());
        QCOMPARE(run.tallies.at(0).chownedWithoutChmod, (std::set<std::string>{"dir/c", "dir/d"}));
    }

    // The noted paths follow renames of the directories above them, hard links made to them,
    // and replacement; an unlinked name is dropped. (Differential test seed 1009 round 9: a
    // chown in a directory renamed later in the stream.)
    void notedChownsFollowTheTree() {
        std::string stream = incrementalStream([](SendStreamWriter& w) {
            w.chown("dir/sub/f", 1, 1).chown("dir/sub/g", 1, 1).chown("dir/subway", 1, 1);
            w.rename("dir/sub", "moved");
            w.chown("dir/linked", 2, 2).link("other", "dir/linked").unlink("dir/linked");
            w.chown("dir/replaced", 3, 3).rename("dir/top", "dir/replaced");
            w.chown("dir/gone", 4, 4).unlink("dir/gone");
        });
        GateRun run = runGate(stream, {gated(true)});
        QVERIFY2(run.refusal.empty(), run.refusal.c_str());
        QCOMPARE(run.tallies.at(0).chownedWithoutChmod,
                 (std::set<std::string>{"dir/subway", "moved/f", "moved/g", "other"}));
    }

private:
    static bool contains(const std::string& text, const char* what) { return text.find(what) != std::string::npos; }
};

QTEST_APPLESS_MAIN(TestStreamGate)
#include "test_stream_gate.moc"
