// The hostile-sender suite. A replica's agent (`streamchain agent --root DIR`, a child
// with pipes) is driven with the real signed header of a block the replica lacks and
// a stream an attacker made: the honest `btrfs send --proto 2 -p` output with an
// attack inserted, or one crafted from scratch. Every case must be refused with a
// clear reason, publish nothing, leave the staging area empty, and an honest session
// right after must publish the block and `verify --replica` must say MATCH.
// Where an attack gets through, the case fails and says what it achieved.
#include "core/base/height_names.h"
#include "core/btrfs/subvolumes.h"
#include "core/ledger/block_header.h"
#include "core/ledger/chain.h"
#include "tests/support/replica_under_attack.h"

#include <QTest>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <filesystem>
#include <functional>
#include <map>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

using namespace sctest;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// What each case's refusal must name: any one of the words, case-insensitively.
// Align the agent's error texts with this table. A case whose attack only does
// harm together with a second weakness (a clone lands where the footprint does not
// look) also accepts the word of that weakness.
const std::map<std::string, std::vector<std::string>> kExpectedReason = {
    // 1. paths btrfs receive normalises and the change tracking did not
    {"pathNotNormalised/write-leading-slash", {"path"}},
    {"pathNotNormalised/chmod-dot-slash", {"path"}},
    // 2. the block's own .streamchain/ (header.json only, outside the footprint)
    {"blockMetadataDirectory/setuid-file", {".streamchain"}},
    {"blockMetadataDirectory/device-node", {".streamchain"}},
    {"blockMetadataDirectory/symlink-to-etc", {".streamchain"}},
    {"linkIntoBlockMetadata", {".streamchain"}},
    // 3. clone sources resolved through the mount, outside receive's chroot
    {"cloneEscapesToRelayKey", {"clone", ".streamchain"}},
    {"cloneFromForeignSubvolume", {"clone", "path"}},
    // 4. the base of an incremental receive
    {"incrementalBaseReceivedFromThisReplica", {"built on", "parent"}},
    {"snapshotOfForeignSubvolume", {"parent"}},
    {"fullStreamWhereIncrementalAnnounced", {"full", "incremental"}},
    // the stream's subvolumes against the announcement
    {"unannouncedSubvolume", {"subvolume"}},
    {"subvolumeNameNotAnnounced", {"subvolume"}},
    // 5. hangs while holding the replica lock
    {"hangs/fifo-header", {"header"}},
    {"hangs/write-at-2^46", {"size", "offset", "large", "footprint"}},
    // more crafted streams
    {"renameAcrossBlockRoot/dot-dot", {"path"}},
    {"renameAcrossBlockRoot/leading-slash", {"path"}},
    {"oversizedXattr", {"xattr"}},
    {"pathBeyondPathMax", {"path", "long", "deep", "names"}},
    {"streamEndsMidCommand", {"truncated", "eof", "short read"}},
    {"unknownCommand", {"command"}},
    {"cloneFromAFifoStallsReceive", {"stuck"}},
    {"senderGoesAway", {"away", "sender"}},
    {"senderGoesAwayWhileTheAgentHashes", {"away", "sender"}},
    // 5. malformed requests: an X frame, and the session goes on
    {"malformedRequest/op-number", {"op"}},
    {"malformedRequest/tree-string", {"tree"}},
    {"malformedRequest/not-json", {"json"}},
    {"malformedRequest/blocks-missing", {"blocks"}},
    {"malformedRequest/raw-bytes-string", {"raw_bytes"}},
    {"malformedRequest/error-with-invalid-utf8", {"receive"}},
    // 5. hellos: refused with an X frame (the agent may then leave)
    {"helloProtocol/protocol-2^32+1", {"protocol"}},
    {"helloProtocol/protocol-1.0", {"protocol"}},
    {"helloProtocol/protocol-string", {"protocol"}},
    {"helloProtocol/chain-missing", {"chain"}},
    {"helloProtocol/protocol-3", {"protocol"}},
    {"helloProtocol/protocols-string", {"protocol"}},
    // the trailer's transfer checksum: XXH3-128 in version 2, SHA-256 in version 1
    {"trailerChecksum/v2-wrong-xxh3", {"digest mismatch"}},
    {"trailerChecksum/v2-sha256-only", {"raw_xxh3"}},
    {"trailerChecksum/v1-wrong-sha256", {"digest mismatch"}},
    {"trailerChecksum/v1-xxh3-only", {"raw_sha256"}},
    // 5. relay-key: the binding first, and nothing created on a root prepare refuses
    {"relayKey/other-chain", {"chain"}},
    {"relayKey/unpreparable-root", {"btrfs", "bound", "prepare"}},
};

std::string caseName() {
    std::string name = QTest::currentTestFunction();
    if (const char* tag = QTest::currentDataTag(); tag && *tag)
        name += std::string("/") + tag;
    return name;
}

ExpectedReason reason() {
    auto it = kExpectedReason.find(caseName());
    if (it == kExpectedReason.end())
        throw std::logic_error("no expected reason for " + caseName() + " in kExpectedReason");
    return {caseName(), it->second};
}

constexpr std::uint64_t kBase = HostilePrimary::kBase;
constexpr std::uint64_t kTarget = HostilePrimary::kTarget;

void makeFile(const std::string& path, const std::string& contents, unsigned mode) {
    writeFile(path, contents);
    ::chmod(path.c_str(), mode);
}

void overwriteInPlace(const std::string& path, const std::string& bytes) {
    int fd = ::open(path.c_str(), O_WRONLY);
    if (fd < 0 || ::pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
        throw std::runtime_error("cannot overwrite " + path);
    ::close(fd);
}

// `btrfs send` of a read-only snapshot received elsewhere: the copy carries its received UUID.
void sendReceive(const std::string& snapshot, const std::string& intoDir) {
    TempDir spool("copy");
    mustRun({"btrfs", "send", "-q", "-f", spool.path() + "/stream", snapshot});
    fs::create_directories(intoDir);
    mustRun({"btrfs", "receive", "-q", "-f", spool.path() + "/stream", intoDir});
}

// Give a writable subvolume the received UUID `uuid`, as btrfs receive would.
void claimReceivedFrom(const std::string& subvolume, const sc::btrfs::Uuid& uuid) {
    int fd = ::open(subvolume.c_str(), O_RDONLY | O_DIRECTORY);
    btrfs_ioctl_received_subvol_args args{};
    std::memcpy(args.uuid, uuid.data(), uuid.size());
    args.stransid = 1;
    int rc = fd < 0 ? -1 : ::ioctl(fd, BTRFS_IOC_SET_RECEIVED_SUBVOL, &args);
    if (fd >= 0)
        ::close(fd);
    if (rc != 0)
        throw std::runtime_error("cannot set the received UUID of " + subvolume);
}

} // namespace

// The checks report through QVERIFY; a caller stops once one failed.
#define CHECKED(call)                                                                                        \
    do {                                                                                                     \
        call;                                                                                                \
        if (QTest::currentTestFailed())                                                                      \
            return;                                                                                          \
    } while (false)

class TestHostileSender : public QObject {
    Q_OBJECT

    std::unique_ptr<HostilePrimary> primary_;
    std::unique_ptr<ReplicaUnderAttack> replica_; // on a filesystem of its own, fresh for every case

    void freshReplica(const std::function<void(BtrfsImage&)>& before = {}) {
        replica_.reset();
        replica_ = std::make_unique<ReplicaUnderAttack>(*primary_, before);
    }
    const std::string& root() const { return replica_->root(); }
    std::string target(const std::string& relative = {}) const { return replica_->target(relative); }
    ReceiveAttempt attempt(std::string stream) const { return replica_->attempt(std::move(stream)); }
    SendStreamWriter craft() const { return primary_->writer(); }
    std::string honestWith(const SendStreamWriter& extra, Insert where) const {
        return primary_->honestWith(extra, where);
    }

    void expectRefused(const ReceiveOutcome& outcome, const std::function<std::string()>& evidence = {}) {
        replica_->expectRefused(outcome, reason(), evidence);
    }
    void expectRefusedFrame(const std::optional<AgentFrame>& frame, const std::string& what,
                            AgentSession& session) {
        replica_->expectRefusedFrame(frame, what, session, reason());
    }
    void expectReplicaUnchanged() { replica_->expectUnchanged(); }
    // Hello (offering version 2, or as a version-1 sender), prepare, announce the target
    // block; the agent's ready reply.
    json receiveReady(AgentSession& session, bool version2) {
        if (version2)
            session.helloOffering(primary_->chainWire(), json::array({1, 2}));
        else
            session.hello(primary_->chainWire());
        json hello = session.expect('H', "the hello").json();
        if (hello.value("protocol", 0) != (version2 ? 2 : 1))
            throw std::runtime_error("the agent chose protocol " + hello.dump());
        session.request({{"op", "prepare"}});
        session.expect('R', "prepare");
        session.request({{"op", "receive"}, {"blocks", json::array({primary_->announcement()})}, {"compressed", false}});
        return session.expect('R', "the receive request").json();
    }
    void expectHonestSessionWorks() { replica_->expectHonestSessionWorks(); }
    std::string baseEvidence() const { return replica_->baseEvidence(); }

    // Refused for the reason in the table, nothing published, staging empty; then an
    // honest session publishes the block and it verifies.
    void expectRefusedThenHonest(const ReceiveOutcome& outcome,
                                 const std::function<std::string()>& evidence = {}) {
        CHECKED(expectRefused(outcome, evidence));
        CHECKED(expectReplicaUnchanged());
        expectHonestSessionWorks();
    }

private slots:
    void initTestCase() { primary_ = std::make_unique<HostilePrimary>(); }
    void cleanupTestCase() { primary_.reset(); }
    void init() { freshReplica(); }
    void cleanup() { replica_.reset(); }

    void baselineHonestSession() {
        SplitSendStream honest = primary_->honestCommands();
        QVERIFY(honest.commands.front().is(SendCmd::Snapshot));
        QCOMPARE(honest.commands.front().text(SendAttr::Path), sc::heightName(kTarget));
        QCOMPARE(honest.commands.front().text(SendAttr::CloneUuid), uuidBytes(primary_->blockUuid(kBase)));
        QCOMPARE(honest.encode(), primary_->honestIncremental()); // re-encoding is faithful
        expectHonestSessionWorks();
    }

    // 1. `/dir/f` and `./dir/f` name dir/f to btrfs receive, but not to the change tracking.
    void pathNotNormalised_data() {
        QTest::addColumn<QString>("variant");
        QTest::newRow("write-leading-slash") << "write";
        QTest::newRow("chmod-dot-slash") << "chmod";
    }
    void pathNotNormalised() {
        QFETCH(QString, variant);
        SendStreamWriter extra = craft();
        if (variant == "write")
            extra.write("/dir/f", 0, "ATTACKER BYTES: not what the signed header covers\n");
        else
            extra.chmod("./dir/f", 04755);
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::AfterSnapshot)));
        expectRefusedThenHonest(outcome, [&] { return describePath(target("dir/f")); });
    }

    // 2. The block-root .streamchain/ holds the header only; the footprint leaves it out.
    void blockMetadataDirectory_data() {
        QTest::addColumn<QString>("planted");
        QTest::newRow("setuid-file") << "evil";
        QTest::newRow("device-node") << "mem";
        QTest::newRow("symlink-to-etc") << "etc";
    }
    void blockMetadataDirectory() {
        QFETCH(QString, planted);
        const std::string path = ".streamchain/" + planted.toStdString();
        SendStreamWriter extra = craft();
        if (planted == "evil")
            extra.mkfile(path).write(path, 0, "#!/bin/sh\nexec /bin/sh -p\n").chmod(path, 04755);
        else if (planted == "mem")
            extra.mknod(path, S_IFCHR | 0666, makedev(1, 1)).chmod(path, 0666);
        else
            extra.symlink(path, "/etc");
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome, [&] { return describePath(target(path)); });
    }

    void linkIntoBlockMetadata() {
        SendStreamWriter extra = craft();
        extra.link(".streamchain/linked-f", "dir/f");
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome, [&] { return describePath(target(".streamchain/linked-f")); });
    }

    // 3. btrfs receive opens clone sources through the mount, outside its chroot: a clone
    // path may climb out of the source subvolume to the relay's private key.
    void cloneEscapesToRelayKey() {
        {
            AgentSession session(root());
            helloAndPrepare(session, primary_->chainWire());
            session.request({{"op", "relay-key"}});
            session.expect('R', "relay-key");
            endSession(session);
        }
        const std::string key = root() + "/.streamchain/relay/id_ed25519";
        QVERIFY2(fs::exists(key), "the relay key was not made");
        const std::uint64_t ctransid =
            primary_->honestCommands().commands.front().number(SendAttr::CloneCtransid);
        SendStreamWriter extra = craft();
        extra.mkfile(".streamchain/stolen")
            .clone(".streamchain/stolen", 0, fs::file_size(key), primary_->blockUuid(kBase), ctransid,
                   "../../.streamchain/relay/id_ed25519", 0);
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome, [&] {
            std::string stolen = target(".streamchain/stolen");
            bool same = fs::exists(stolen) && readFile(stolen) == readFile(key);
            return describePath(stolen) + (same ? " — the relay's private key, byte for byte" : "");
        });
    }

    // A subvolume outside the replica on the same filesystem, with a 0600 file; btrfs
    // receive finds clone sources by received UUID anywhere on the filesystem.
    void cloneFromForeignSubvolume() {
        static std::atomic<int> counter{0};
        const std::string source = primary_->chain().image().path("outside-" + std::to_string(counter++));
        sc::btrfs::createSubvolume(source);
        const std::string secret = mustRun({"head", "-c", "8192", "/dev/urandom"});
        makeFile(source + "/secret.key", secret, 0600);
        sc::btrfs::snapshot(source, source + "-ro", true);
        sendReceive(source + "-ro", replica_->disk().path("foreign"));
        const std::string foreign =
            replica_->disk().path("foreign/" + fs::path(source + "-ro").filename().string());
        const SendUuid foreignUuid = sc::btrfs::subvolumeInfo(foreign).receivedUuid;
        SendStreamWriter extra = craft();
        extra.clone("/dir/f", 0, secret.size(), foreignUuid, 0, "secret.key", 0);
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::AfterSnapshot)));
        expectRefusedThenHonest(outcome, [&] {
            bool same = readFile(target("dir/f")) == secret;
            return describePath(target("dir/f")) + (same ? " — the foreign 0600 file, byte for byte" : "");
        });
    }

    // 4. btrfs receive looks the incremental base up by received UUID across the whole
    // filesystem: another copy of the base block (say a replica left there earlier),
    // received before this replica's own, is found first and the block grows from it.
    // Another copy of block 3 on the same filesystem, older than the replica's: btrfs
    // receive would take it as the base (the first subvolume with that received UUID).
    // The replica points the SNAPSHOT at its own copy, so the block is published on it.
    void incrementalBaseFoundAcrossFilesystem() {
        freshReplica([&](BtrfsImage& disk) {
            sendReceive(primary_->blockPath(kBase), disk.path("earlier-replica"));
        });
        ReceiveOutcome outcome = attemptReceive(root(), attempt(primary_->honestIncremental()));
        QVERIFY2(outcome.accepted, outcome.describe().c_str());
        sc::btrfs::SubvolumeInfo published = sc::btrfs::subvolumeInfo(target());
        QVERIFY2(published.parentUuid == sc::btrfs::subvolumeInfo(replica_->baseBlock()).uuid, baseEvidence().c_str());
        auto verify = boundedCli({"verify", primary_->chain().root(), "--replica", "local:" + root(), "--json"});
        QVERIFY2(replicaStates(verify)[static_cast<int>(kTarget)] == "MATCH", verify.out.c_str());
    }

    // A subvolume on the replica's filesystem that claims to have been received from the
    // replica's own block 3 (its received UUID is that block's own UUID) and holds other
    // contents: receive resolves the re-pointed SNAPSHOT to it first, so the check after
    // receive must refuse a block that does not stand on the replica's own parent.
    void incrementalBaseReceivedFromThisReplica() {
        const std::string copy = replica_->disk().path("impostor");
        sc::btrfs::snapshot(replica_->baseBlock(), copy, false);
        overwriteInPlace(copy + "/dir/f", "IMPOSTOR BASE: not what the signed header covers\n");
        claimReceivedFrom(copy, sc::btrfs::subvolumeInfo(replica_->baseBlock()).uuid);
        sc::btrfs::setReadOnly(copy, true);
        ReceiveOutcome outcome = attemptReceive(root(), attempt(primary_->honestIncremental()));
        CHECKED(expectRefused(outcome, [&] { return baseEvidence(); }));
        CHECKED(expectReplicaUnchanged());
        sc::btrfs::deleteSubvolume(copy); // the honest stream would find it again
        expectHonestSessionWorks();
    }

    // The SNAPSHOT command names another subvolume (by its own UUID) as the base: a
    // snapshot of the replica's block 3 whose dir/f was changed in place. Its inodes and
    // dir/'s times are the block's own, so a footprint that reuses dir/'s digest does not see it.
    void snapshotOfForeignSubvolume() {
        const std::string copy = replica_->disk().path("elsewhere/copy");
        fs::create_directories(replica_->disk().path("elsewhere"));
        sc::btrfs::snapshot(root() + "/blocks/" + sc::heightName(kBase), copy, false);
        overwriteInPlace(copy + "/dir/f", "TAMPERED BASE: not what the signed header covers\n");
        sc::btrfs::setReadOnly(copy, true);
        SplitSendStream stream = primary_->honestCommands();
        stream.commands.front().set(SendAttr::CloneUuid, uuidBytes(sc::btrfs::subvolumeInfo(copy).uuid));
        ReceiveOutcome outcome = attemptReceive(root(), attempt(stream.encode()));
        expectRefusedThenHonest(outcome,
                                [&] { return baseEvidence() + "; " + describePath(target("dir/f")); });
    }

    void fullStreamWhereIncrementalAnnounced() {
        ReceiveOutcome outcome = attemptReceive(root(), attempt(primary_->honestFull()));
        expectRefusedThenHonest(
            outcome, [&] { return std::string("a full stream replaced the announced incremental"); });
    }

    void unannouncedSubvolume() {
        SendUuid stranger{};
        stranger.fill(0x5c);
        SendStreamWriter extra = craft();
        extra.subvol(sc::heightName(9), stranger, 1).mkfile("payload").write("payload", 0, "not announced\n");
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome,
                                [&] { return "the stream also carried subvolume " + sc::heightName(9); });
    }

    void subvolumeNameNotAnnounced() {
        SplitSendStream stream = primary_->honestCommands();
        stream.commands.front().set(SendAttr::Path, "not-a-height");
        ReceiveOutcome outcome = attemptReceive(root(), attempt(stream.encode()));
        expectRefusedThenHonest(outcome);
    }

    // 5. Work without end while holding the replica lock.
    void hangs_data() {
        QTest::addColumn<QString>("variant");
        QTest::newRow("fifo-header") << "fifo";
        QTest::newRow("write-at-2^46") << "huge";
    }
    void hangs() {
        QFETCH(QString, variant);
        SendStreamWriter extra = craft();
        if (variant == "fifo")
            extra.unlink(sc::kHeaderFile).mkfifo(sc::kHeaderFile);
        else
            extra.write("log.txt", std::uint64_t{1} << 46, "x");
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome);
    }

    void renameAcrossBlockRoot_data() {
        QTest::addColumn<QString>("destination");
        QTest::newRow("dot-dot") << "../escaped.txt";
        QTest::newRow("leading-slash") << "/top-moved.txt";
    }
    void renameAcrossBlockRoot() {
        QFETCH(QString, destination);
        SendStreamWriter extra = craft();
        extra.rename("top.txt", destination.toStdString());
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome, [&] { return describePath(target("top-moved.txt")); });
    }

    void oversizedXattr() {
        SendStreamWriter extra = craft();
        extra.setXattr("dir/f", "user.big", std::string(65000, 'x'));
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::AfterSnapshot)));
        expectRefusedThenHonest(outcome);
    }

    // Three chains of directories of ~1.8 KiB each, renamed into one another: every
    // command's path fits PATH_MAX, the tree they build does not.
    void pathBeyondPathMax() {
        SendStreamWriter extra = craft();
        auto chainOf = [&](const std::string& top, char letter) {
            std::string path = top;
            extra.mkdir(path);
            for (int depth = 0; depth < 9; ++depth) {
                path += "/" + std::string(200, letter);
                extra.mkdir(path);
            }
            return path;
        };
        const std::string a = chainOf("deep", 'a');
        const std::string b = chainOf("deep-b", 'b');
        const std::string c = chainOf("deep-c", 'c');
        extra.mkfile(c + "/bottom").write(c + "/bottom", 0, "at the bottom\n");
        extra.rename("deep-c", b + "/deep-c").rename("deep-b", a + "/deep-b");
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome, [&] { return describePath(target("deep")); });
    }

    void streamEndsMidCommand() {
        SplitSendStream honest = primary_->honestCommands();
        SplitSendStream prefix{honest.version, {}};
        prefix.commands.assign(honest.commands.begin(),
                               honest.commands.begin() +
                                   static_cast<std::ptrdiff_t>(honest.commands.size() / 2));
        std::string torn = primary_->honestIncremental().substr(0, prefix.encode().size() + 7);
        ReceiveOutcome outcome = attemptReceive(root(), attempt(torn));
        expectRefusedThenHonest(outcome);
    }

    void unknownCommand() {
        SendStreamWriter extra = craft();
        extra.raw(99, {attr(SendAttr::Path, "dir/f"), attr(SendAttr::Data, "what is this")});
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::AfterSnapshot)));
        expectRefusedThenHonest(outcome,
                                [] { return std::string("a stream with command type 99 was taken"); });
    }

    // A clone whose source is a FIFO the stream made in the block itself: receive opens it
    // to read and blocks for good. The watchdog (stall limit 3 s here) stops it.
    void cloneFromAFifoStallsReceive() {
        ::setenv("STREAMCHAIN_RECEIVE_STALL_SECONDS", "3", 1);
        struct Unset {
            ~Unset() { ::unsetenv("STREAMCHAIN_RECEIVE_STALL_SECONDS"); }
        } unset;
        SendStreamWriter extra = craft();
        extra.mkfifo("dir/pipe").clone("dir/f", 0, 4096, primary_->blockUuid(kTarget), 1, "dir/pipe", 0);
        auto started = std::chrono::steady_clock::now();
        ReceiveOutcome outcome = attemptReceive(root(), attempt(honestWith(extra, Insert::BeforeEnd)));
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        QVERIFY2(seconds < 30, ("the stuck receive was stopped only after " + std::to_string(seconds) + " s").c_str());
        ::unsetenv("STREAMCHAIN_RECEIVE_STALL_SECONDS");
        expectRefusedThenHonest(outcome, [] { return std::string("a receive stuck on a FIFO"); });
    }

    // The sender disappears mid-stream (in the middle of a frame): the agent must
    // leave by itself, drop the staged receive and free the replica lock.
    void senderGoesAway() {
        const std::string& stream = primary_->honestIncremental();
        std::optional<AgentFrame> lastWords;
        {
            AgentSession session(root());
            helloAndPrepare(session, primary_->chainWire());
            session.request({{"op", "receive"}, {"blocks", json::array({primary_->announcement()})}});
            session.expect('R', "the receive request");
            session.sendData(stream.substr(0, stream.size() / 2), 512);
            session.sendRaw(std::string("D\0\0", 3));
            session.closeInput();
            try {
                lastWords = session.read("the sender's departure", 30);
            } catch (const std::exception& e) {
                QFAIL(e.what());
            }
            QVERIFY2(session.waitExit(30), "the agent is still running 30 s after its sender went away");
            CHECKED(expectRefusedFrame(lastWords, "after the sender went away", session));
        }
        CHECKED(expectReplicaUnchanged());
        {
            AgentSession next(root());
            next.hello(primary_->chainWire());
            next.expect('H', "the hello of the next session", 10);
            next.request({{"op", "prepare"}});
            std::optional<AgentFrame> prepared = next.read("prepare (the replica lock)", 10);
            QVERIFY2(prepared && prepared->type == 'R',
                     ("the next session cannot prepare: " + (prepared ? prepared->describe() : "no answer"))
                         .c_str());
            endSession(next);
        }
        expectHonestSessionWorks();
    }

    // A sender that hangs up while the agent re-hashes a block (for `footprint`, or to
    // check what it received) stops the work: the agent leaves at once, publishing
    // nothing, and the replica lock is free. Hashing is slowed (2 s a read) to be caught.
    void senderGoesAwayWhileTheAgentHashes() {
        ::setenv("STREAMCHAIN_FAULT", "footprint-slowly", 1);
        struct Unset {
            ~Unset() { ::unsetenv("STREAMCHAIN_FAULT"); }
        } unset;
        for (const std::string phase : {"footprint", "receive"}) {
            AgentSession session(root());
            helloAndPrepare(session, primary_->chainWire());
            if (phase == "footprint") {
                session.request({{"op", "footprint"}, {"height", kBase}});
            } else {
                const std::string& stream = primary_->honestIncremental();
                session.request({{"op", "receive"}, {"blocks", json::array({primary_->announcement()})}});
                session.expect('R', "the receive request");
                session.sendData(stream);
                session.sendEnd(stream);
            }
            ::usleep(300000); // the agent is hashing now
            auto hungUp = std::chrono::steady_clock::now();
            session.closeInput();
            QVERIFY2(session.waitExit(5), (phase + ": the agent still works 5 s after its sender hung up").c_str());
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - hungUp).count();
            QVERIFY2(seconds < 5, (phase + ": left after " + std::to_string(seconds) + " s").c_str());
        }
        ::unsetenv("STREAMCHAIN_FAULT");
        CHECKED(expectReplicaUnchanged());
        expectHonestSessionWorks();
    }

    // 5. Requests of the wrong shape: an X frame, and the session goes on.
    void malformedRequest_data() {
        QTest::addColumn<QString>("variant");
        for (const char* row : {"op-number", "tree-string", "not-json", "blocks-missing", "raw-bytes-string",
                                "error-with-invalid-utf8"})
            QTest::newRow(row) << row;
    }
    void malformedRequest() {
        QFETCH(QString, variant);
        AgentSession session(root());
        helloAndPrepare(session, primary_->chainWire());
        auto receiveWith = [&](const std::string& stream, const json& end) {
            session.request({{"op", "receive"}, {"blocks", json::array({primary_->announcement()})}});
            session.expect('R', "the receive request");
            session.sendData(stream);
            session.sendJson('E', end);
        };
        std::optional<AgentFrame> answer;
        try {
            if (variant == "op-number") {
                session.request({{"op", 5}});
            } else if (variant == "tree-string") {
                session.request({{"op", "footprint"}, {"height", kBase}, {"tree", "yes"}});
            } else if (variant == "not-json") {
                session.sendFrame('Q', "{\"op\": \"list\", this is not json");
            } else if (variant == "blocks-missing") {
                session.request({{"op", "receive"}, {"compressed", false}});
            } else if (variant == "raw-bytes-string") {
                const std::string& stream = primary_->honestIncremental();
                receiveWith(stream, {{"raw_bytes", "x"}, {"raw_sha256", sha256Hex(stream)}});
            } else {
                SendStreamWriter extra = craft();
                extra.write(std::string("no-such-dir/\xff\xfe-not-utf8"), 0, "x");
                std::string stream = honestWith(extra, Insert::AfterSnapshot);
                receiveWith(stream, {{"raw_bytes", stream.size()}, {"raw_sha256", sha256Hex(stream)}});
            }
            answer = session.read("the malformed request");
        } catch (const std::exception& e) {
            QFAIL((std::string("no answer to the malformed request: ") + e.what()).c_str());
        }
        CHECKED(expectRefusedFrame(answer, "the malformed request", session));
        session.request({{"op", "list"}});
        std::optional<AgentFrame> list = session.read("a list request after the refusal", 30);
        QVERIFY2(list && list->type == 'R', ("the session did not go on after the refusal: " +
                                             (list ? list->describe() : session.exitDescription()))
                                                .c_str());
        endSession(session);
        CHECKED(expectReplicaUnchanged());
        expectHonestSessionWorks();
    }

    // 5. Hellos: versions are unsigned integers, and one of them must be one the agent speaks.
    void helloProtocol_data() {
        QTest::addColumn<QString>("variant");
        for (const char* row : {"protocol-2^32+1", "protocol-1.0", "protocol-string", "chain-missing", "protocol-3",
                                "protocols-string"})
            QTest::newRow(row) << row;
    }
    void helloProtocol() {
        QFETCH(QString, variant);
        {
            AgentSession session(root());
            if (variant == "protocol-2^32+1")
                session.hello(primary_->chainWire(), json(std::uint64_t{1} << 32 | 1));
            else if (variant == "protocol-1.0")
                session.hello(primary_->chainWire(), json(1.0));
            else if (variant == "protocol-string")
                session.hello(primary_->chainWire(), json("1"));
            else if (variant == "protocol-3")
                session.hello(primary_->chainWire(), json(3u));
            else if (variant == "protocols-string")
                session.helloOffering(primary_->chainWire(), json("1,2"));
            else
                session.sendJson('H',
                                 {{"magic", "streamchain"}, {"protocol", 1}, {"version", "hostile-test"}});
            std::optional<AgentFrame> answer;
            try {
                answer = session.read("the hello");
            } catch (const std::exception& e) {
                QFAIL(e.what());
            }
            CHECKED(expectRefusedFrame(answer, "the hello", session));
            endSession(session);
        }
        CHECKED(expectReplicaUnchanged());
        expectHonestSessionWorks();
    }

    // The agent answers with the highest version both speak (STREAMCHAIN_AGENT_MAX_PROTOCOL
    // plays an agent of version 1).
    void helloNegotiatesTheVersion_data() {
        QTest::addColumn<QString>("offered");
        QTest::addColumn<QString>("agentNewest");
        QTest::addColumn<int>("expected");
        QTest::newRow("version-1-sender") << "" << "" << 1;
        QTest::newRow("versions-1-2") << "1,2" << "" << 2;
        QTest::newRow("versions-1-2-9") << "1,2,9" << "" << 2;
        QTest::newRow("agent-of-version-1") << "1,2" << "1" << 1;
    }
    void helloNegotiatesTheVersion() {
        QFETCH(QString, offered);
        QFETCH(QString, agentNewest);
        QFETCH(int, expected);
        if (!agentNewest.isEmpty())
            ::setenv("STREAMCHAIN_AGENT_MAX_PROTOCOL", agentNewest.toStdString().c_str(), 1);
        struct Unset {
            ~Unset() { ::unsetenv("STREAMCHAIN_AGENT_MAX_PROTOCOL"); }
        } unset;
        AgentSession session(root());
        if (offered.isEmpty()) {
            session.hello(primary_->chainWire());
        } else {
            json versions = json::array();
            for (const QString& version : offered.split(','))
                versions.push_back(version.toUInt());
            session.helloOffering(primary_->chainWire(), versions);
        }
        json hello = session.expect('H', "the hello").json();
        QCOMPARE(hello.value("protocol", 0), expected);
        endSession(session);
    }

    // A stream's trailer carries the checksum of the session's version: XXH3-128 as
    // "raw_xxh3" in version 2 (the receive's ready reply says so), SHA-256 as "raw_sha256"
    // in version 1. A wrong checksum, or only the other version's, is refused.
    void trailerChecksum_data() {
        QTest::addColumn<QString>("variant");
        for (const char* row : {"v2-wrong-xxh3", "v2-sha256-only", "v1-wrong-sha256", "v1-xxh3-only"})
            QTest::newRow(row) << row;
    }
    void trailerChecksum() {
        QFETCH(QString, variant);
        const bool version2 = variant.startsWith("v2");
        const std::string& stream = primary_->honestIncremental();
        std::string flipped = stream;
        flipped[flipped.size() / 2] ^= 0x01; // what the sender hashed if a byte flipped on the way
        json end = {{"raw_bytes", stream.size()}};
        if (variant == "v2-wrong-xxh3")
            end["raw_xxh3"] = xxh3Hex(flipped);
        else if (variant == "v2-sha256-only")
            end["raw_sha256"] = sha256Hex(stream);
        else if (variant == "v1-wrong-sha256")
            end["raw_sha256"] = sha256Hex(flipped);
        else
            end["raw_xxh3"] = xxh3Hex(stream);
        std::optional<AgentFrame> answer;
        AgentSession session(root());
        try {
            json ready = receiveReady(session, version2);
            QVERIFY2(version2 ? ready.value("trailer_checksums", json()) == json::array({"raw_xxh3"})
                              : !ready.contains("trailer_checksums"),
                     ready.dump().c_str());
            session.sendData(stream);
            session.sendJson('E', end);
            answer = session.read("the end of the stream");
        } catch (const std::exception& e) {
            QFAIL(e.what());
        }
        CHECKED(expectRefusedFrame(answer, "the trailer", session));
        endSession(session);
        CHECKED(expectReplicaUnchanged());
        expectHonestSessionWorks();
    }

    void honestVersion2SessionPublishes() {
        const std::string& stream = primary_->honestIncremental();
        AgentSession session(root());
        try {
            receiveReady(session, true);
            session.sendData(stream);
            session.sendJson('E', {{"raw_bytes", stream.size()}, {"raw_xxh3", xxh3Hex(stream)}});
            json published = session.expect('R', "the end of the stream").json().value("published", json());
            QVERIFY2(published == json::array({kTarget}), published.dump().c_str());
        } catch (const std::exception& e) {
            QFAIL(e.what());
        }
        endSession(session);
        QVERIFY(fs::exists(root() + "/blocks/" + sc::heightName(kTarget)));
    }

    // 5. relay-key only for the replica's own chain, and never on a root prepare refuses.
    void relayKey_data() {
        QTest::addColumn<QString>("variant");
        QTest::newRow("other-chain") << "other-chain";
        QTest::newRow("unpreparable-root") << "unpreparable-root";
    }
    void relayKey() {
        QFETCH(QString, variant);
        TempDir notBtrfs("not-btrfs");
        json chain = primary_->chainWire();
        std::string root = this->root();
        if (variant == "other-chain") {
            chain["id"] = "0123456789abcdef0123456789abcdef";
            chain["public_key"] = std::string(64, 'e');
        } else {
            root = notBtrfs.path() + "/replica";
            fs::create_directories(root);
            QVERIFY2(!sc::btrfs::isOnBtrfs(root),
                     "the temporary directory is on btrfs; the case needs another fs");
        }
        {
            AgentSession session(root);
            session.hello(chain);
            std::optional<AgentFrame> answer;
            try {
                session.expect('H', "the hello");
                session.request({{"op", "relay-key"}});
                answer = session.read("relay-key");
            } catch (const std::exception& e) {
                QFAIL(e.what());
            }
            const bool created = fs::exists(root + "/.streamchain/relay");
            CHECKED(expectRefusedFrame(
                answer, created ? "relay-key (which created ROOT/.streamchain/relay/)" : "relay-key",
                session));
            QVERIFY2(!created, ("relay-key created " + root + "/.streamchain/relay").c_str());
            session.request({{"op", "prepare"}});
            std::optional<AgentFrame> next = session.read("a request after the refusal", 30);
            QVERIFY2(next, ("the session did not go on: " + session.exitDescription()).c_str());
            endSession(session);
        }
        CHECKED(expectReplicaUnchanged());
        expectHonestSessionWorks();
    }
};

STREAMCHAIN_SYSTEM_TEST_MAIN(TestHostileSender)
#include "test_hostile_sender.moc"
