// The hostile-sender suite. A replica's agent (`streamchain agent --root DIR`, a child
// with pipes) is driven with the real signed header of a block the replica lacks and
// a stream an attacker made: the honest `btrfs send --proto 2 -p` output with an
// attack inserted, or one crafted from scratch. Every case must be refused with a
// clear reason, publish nothing, leave the staging area empty, and an honest session
// right after must publish the block and `verify --replica` must say MATCH.
// Where an attack gets through, the case fails and says what it achieved.
#include "core/block_header.h"
#include "core/btrfs.h"
#include "core/chain.h"
#include "tests/support/hostile_fixture.h"

#include <QTest>
#include <atomic>
#include <fcntl.h>
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
    {"incrementalBaseFoundAcrossFilesystem", {"parent"}},
    {"snapshotOfForeignSubvolume", {"parent"}},
    {"fullStreamWhereIncrementalAnnounced", {"full", "incremental"}},
    // the stream's subvolumes against the announcement
    {"unannouncedSubvolume", {"subvolume"}},
    {"subvolumeNameNotAnnounced", {"subvolume"}},
    // 5. hangs while holding the replica lock
    {"hangs/fifo-header", {"header"}},
    {"hangs/write-at-2^46", {"size", "offset", "large"}},
    // more crafted streams
    {"renameAcrossBlockRoot/dot-dot", {"path"}},
    {"renameAcrossBlockRoot/leading-slash", {"path"}},
    {"oversizedXattr", {"xattr"}},
    {"pathBeyondPathMax", {"path", "long", "deep"}},
    {"streamEndsMidCommand", {"truncated", "eof", "short read"}},
    {"unknownCommand", {"command"}},
    {"senderGoesAway", {"away", "sender"}},
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

const std::vector<std::string>& expectedReason() {
    auto it = kExpectedReason.find(caseName());
    if (it == kExpectedReason.end())
        throw std::logic_error("no expected reason for " + caseName() + " in kExpectedReason");
    return it->second;
}

// The replica's own paths (its staging area lies under .streamchain/) say nothing about why.
std::string withoutPathsUnder(std::string text, const std::string& root) {
    for (std::size_t at; !root.empty() && (at = text.find(root)) != std::string::npos;) {
        std::size_t end = text.find_first_of(" \t\n)\"':", at);
        text.replace(at, (end == std::string::npos ? text.size() : end) - at, "<replica>");
    }
    return text;
}

bool namesExpectedReason(const std::string& text, const std::string& root) {
    const std::string scrubbed = lowercase(withoutPathsUnder(text, root));
    for (const auto& word : expectedReason())
        if (contains(scrubbed, lowercase(word)))
            return true;
    return false;
}

// Long texts (btrfs receive may echo a 64 KiB xattr) shortened for messages.
std::string shortened(const std::string& text) {
    constexpr std::size_t kKeep = 300;
    return text.size() <= 2 * kKeep ? text
                                    : text.substr(0, kKeep) + " […] " + text.substr(text.size() - kKeep);
}

void report(const std::string& what) {
    qInfo("%s", shortened(caseName() + ": " + what).c_str());
}

std::string expectedWords() {
    std::string words;
    for (const auto& word : expectedReason())
        words += (words.empty() ? "\"" : " or \"") + word + "\"";
    return words;
}

constexpr std::uint64_t kBase = HostilePrimary::kBase;
constexpr std::uint64_t kTarget = HostilePrimary::kTarget;

enum class Insert { AfterSnapshot, BeforeEnd };

std::string textOf(const AgentFrame& frame) {
    json reply = frame.json();
    if (reply.is_object() && reply.contains("error") && reply["error"].is_string())
        return reply["error"].get<std::string>();
    return frame.payload;
}

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

} // namespace

// Helpers report through QVERIFY; a caller stops once one failed.
#define CHECKED(call)                                                                                        \
    do {                                                                                                     \
        call;                                                                                                \
        if (QTest::currentTestFailed())                                                                      \
            return;                                                                                          \
    } while (false)

class TestHostileSender : public QObject {
    Q_OBJECT

    std::unique_ptr<HostilePrimary> primary_;
    std::unique_ptr<BtrfsImage> disk_; // the replica's filesystem, fresh for every case
    std::string root_;                 // the replica under attack: blocks 0..kBase

    void freshReplica(const std::function<void(BtrfsImage&)>& before = {}) {
        root_.clear();
        disk_.reset();
        disk_ = std::make_unique<BtrfsImage>(256);
        if (before)
            before(*disk_);
        root_ = primary_->replicate(*disk_);
    }

    std::string target(const std::string& relative = {}) const {
        return root_ + "/blocks/" + sc::heightName(kTarget) + (relative.empty() ? "" : "/" + relative);
    }

    ReceiveAttempt attempt(std::string stream) const {
        ReceiveAttempt a;
        a.chain = primary_->chainWire();
        a.blocks = json::array({primary_->announcement()});
        a.stream = std::move(stream);
        return a;
    }

    SendStreamWriter craft() const { return SendStreamWriter(primary_->honestCommands().version); }

    // The honest stream with the commands of `extra` inserted.
    std::string honestWith(const SendStreamWriter& extra, Insert where) const {
        SplitSendStream split = primary_->honestCommands();
        std::vector<RawSendCommand> added = splitSendStream(extra.bytes()).commands;
        std::size_t at = where == Insert::AfterSnapshot ? 1 : split.indexOf(SendCmd::End);
        split.commands.insert(split.commands.begin() + static_cast<std::ptrdiff_t>(at), added.begin(),
                              added.end());
        return split.encode();
    }

    std::string verifyVerdict() const {
        CommandResult verify =
            cli({"verify", primary_->chain().root(), "--replica", "local:" + root_, "--json"});
        auto states = replicaStates(verify);
        auto it = states.find(static_cast<int>(kTarget));
        return "`verify --replica` says block " + std::to_string(kTarget) + " " +
               (it == states.end() ? std::string("(not listed)") : it->second) + " (exit " +
               std::to_string(verify.exitCode) + ")";
    }

    // Refused, for the reason in the table; a published block fails with what it holds.
    void expectRefused(const ReceiveOutcome& outcome, const std::function<std::string()>& evidence = {}) {
        report(outcome.describe());
        if (fs::exists(fs::symlink_status(target()))) {
            std::string what = "ATTACK SUCCEEDED: block " + std::to_string(kTarget) + " was published (" +
                               outcome.describe() + "); " + verifyVerdict() +
                               (evidence ? "; " + evidence() : "");
            QFAIL(what.c_str());
        }
        QVERIFY2(outcome.problem.empty(),
                 ("no answer from the agent: " + shortened(outcome.problem)).c_str());
        QVERIFY2(!outcome.accepted, ("the agent accepted the stream: " + outcome.describe()).c_str());
        QVERIFY2(
            namesExpectedReason(outcome.refusal, root_),
            ("refused, but the reason names none of " + expectedWords() + ": " + shortened(outcome.refusal))
                .c_str());
    }

    void expectRefusedFrame(const std::optional<AgentFrame>& frame, const std::string& what,
                            AgentSession& session) {
        report(what + ": " + (frame ? frame->describe() : "no answer, " + session.exitDescription()));
        QVERIFY2(frame.has_value(), (what + ": the agent ended the session without an answer (" +
                                     session.exitDescription() + "; stderr: " + session.errors() + ")")
                                        .c_str());
        QVERIFY2(frame->type == 'X', (what + ": expected an X frame, got " + frame->describe()).c_str());
        QVERIFY2(namesExpectedReason(textOf(*frame), root_),
                 (what + ": refused, but the reason names none of " + expectedWords() + ": " +
                  shortened(textOf(*frame)))
                     .c_str());
    }

    void expectReplicaUnchanged() {
        std::vector<std::string> expected;
        for (std::uint64_t height = 0; height <= kBase; ++height)
            expected.push_back(sc::heightName(height));
        std::vector<std::string> blocks = namesIn(root_ + "/blocks");
        std::string listed;
        for (const auto& name : blocks)
            listed += name + " ";
        QVERIFY2(blocks == expected, ("blocks/ changed: " + listed).c_str());
        std::vector<std::string> staging = namesIn(root_ + "/.streamchain/staging");
        QVERIFY2(staging.empty(),
                 ("the staging directory is not empty: " + (staging.empty() ? "" : staging[0])).c_str());
    }

    void expectHonestSessionWorks() {
        ReceiveOutcome honest = attemptReceive(root_, attempt(primary_->honestIncremental()));
        QVERIFY2(honest.accepted && honest.published == std::vector<std::uint64_t>{kTarget},
                 ("the honest session right after failed: " + honest.describe()).c_str());
        CommandResult verify =
            cli({"verify", primary_->chain().root(), "--replica", "local:" + root_, "--json"});
        auto states = replicaStates(verify);
        QVERIFY2(verify.exitCode == 0 && states[static_cast<int>(kTarget)] == "MATCH",
                 ("verify --replica after the honest session: " + verify.out + verify.err).c_str());
    }

    void expectRefusedThenHonest(const ReceiveOutcome& outcome,
                                 const std::function<std::string()>& evidence = {}) {
        CHECKED(expectRefused(outcome, evidence));
        CHECKED(expectReplicaUnchanged());
        expectHonestSessionWorks();
    }

    // The block as published, against its base: did it grow from this replica's own block?
    std::string baseEvidence() const {
        auto parent = sc::btrfs::subvolumeInfo(target()).parentUuid;
        auto own = sc::btrfs::subvolumeInfo(root_ + "/blocks/" + sc::heightName(kBase)).uuid;
        return "the published block's parent uuid is " + sc::btrfs::uuidString(parent) +
               (parent == own ? ", the replica's own block " + std::to_string(kBase)
                              : ", not the replica's own block " + std::to_string(kBase) + " (" +
                                    sc::btrfs::uuidString(own) + ")");
    }

private slots:
    void initTestCase() { primary_ = std::make_unique<HostilePrimary>(); }
    void cleanupTestCase() { primary_.reset(); }
    void init() { freshReplica(); }
    void cleanup() {
        root_.clear();
        disk_.reset();
    }

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
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::AfterSnapshot)));
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
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome, [&] { return describePath(target(path)); });
    }

    void linkIntoBlockMetadata() {
        SendStreamWriter extra = craft();
        extra.link(".streamchain/linked-f", "dir/f");
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome, [&] { return describePath(target(".streamchain/linked-f")); });
    }

    // 3. btrfs receive opens clone sources through the mount, outside its chroot: a clone
    // path may climb out of the source subvolume to the relay's private key.
    void cloneEscapesToRelayKey() {
        {
            AgentSession session(root_);
            helloAndPrepare(session, primary_->chainWire());
            session.request({{"op", "relay-key"}});
            session.expect('R', "relay-key");
            endSession(session);
        }
        const std::string key = root_ + "/.streamchain/relay/id_ed25519";
        QVERIFY2(fs::exists(key), "the relay key was not made");
        const std::uint64_t ctransid =
            primary_->honestCommands().commands.front().number(SendAttr::CloneCtransid);
        SendStreamWriter extra = craft();
        extra.mkfile(".streamchain/stolen")
            .clone(".streamchain/stolen", 0, fs::file_size(key), primary_->blockUuid(kBase), ctransid,
                   "../../.streamchain/relay/id_ed25519", 0);
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::BeforeEnd)));
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
        sendReceive(source + "-ro", disk_->path("foreign"));
        const std::string foreign = disk_->path("foreign/" + fs::path(source + "-ro").filename().string());
        const SendUuid foreignUuid = sc::btrfs::subvolumeInfo(foreign).receivedUuid;
        SendStreamWriter extra = craft();
        extra.clone("/dir/f", 0, secret.size(), foreignUuid, 0, "secret.key", 0);
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::AfterSnapshot)));
        expectRefusedThenHonest(outcome, [&] {
            bool same = readFile(target("dir/f")) == secret;
            return describePath(target("dir/f")) + (same ? " — the foreign 0600 file, byte for byte" : "");
        });
    }

    // 4. btrfs receive looks the incremental base up by received UUID across the whole
    // filesystem: another copy of the base block (say a replica left there earlier),
    // received before this replica's own, is found first and the block grows from it.
    void incrementalBaseFoundAcrossFilesystem() {
        std::string copy;
        freshReplica([&](BtrfsImage& disk) {
            sendReceive(primary_->blockPath(kBase), disk.path("earlier-replica"));
            copy = disk.path("earlier-replica/" + sc::heightName(kBase));
        });
        ReceiveOutcome outcome = attemptReceive(root_, attempt(primary_->honestIncremental()));
        CHECKED(expectRefused(outcome, [&] { return baseEvidence(); }));
        CHECKED(expectReplicaUnchanged());
        sc::btrfs::deleteSubvolume(copy); // the honest stream would find it again
        expectHonestSessionWorks();
    }

    // The SNAPSHOT command names another subvolume (by its own UUID) as the base: a
    // snapshot of the replica's block 3 whose dir/f was changed in place. Its inodes and
    // dir/'s times are the block's own, so a footprint that reuses dir/'s digest does not see it.
    void snapshotOfForeignSubvolume() {
        const std::string copy = disk_->path("elsewhere/copy");
        fs::create_directories(disk_->path("elsewhere"));
        sc::btrfs::snapshot(root_ + "/blocks/" + sc::heightName(kBase), copy, false);
        overwriteInPlace(copy + "/dir/f", "TAMPERED BASE: not what the signed header covers\n");
        sc::btrfs::setReadOnly(copy, true);
        SplitSendStream stream = primary_->honestCommands();
        stream.commands.front().set(SendAttr::CloneUuid, uuidBytes(sc::btrfs::subvolumeInfo(copy).uuid));
        ReceiveOutcome outcome = attemptReceive(root_, attempt(stream.encode()));
        expectRefusedThenHonest(outcome,
                                [&] { return baseEvidence() + "; " + describePath(target("dir/f")); });
    }

    void fullStreamWhereIncrementalAnnounced() {
        ReceiveOutcome outcome = attemptReceive(root_, attempt(primary_->honestFull()));
        expectRefusedThenHonest(
            outcome, [&] { return std::string("a full stream replaced the announced incremental"); });
    }

    void unannouncedSubvolume() {
        SendUuid stranger{};
        stranger.fill(0x5c);
        SendStreamWriter extra = craft();
        extra.subvol(sc::heightName(9), stranger, 1).mkfile("payload").write("payload", 0, "not announced\n");
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome,
                                [&] { return "the stream also carried subvolume " + sc::heightName(9); });
    }

    void subvolumeNameNotAnnounced() {
        SplitSendStream stream = primary_->honestCommands();
        stream.commands.front().set(SendAttr::Path, "not-a-height");
        ReceiveOutcome outcome = attemptReceive(root_, attempt(stream.encode()));
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
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::BeforeEnd)));
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
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome, [&] { return describePath(target("top-moved.txt")); });
    }

    void oversizedXattr() {
        SendStreamWriter extra = craft();
        extra.setXattr("dir/f", "user.big", std::string(65000, 'x'));
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::AfterSnapshot)));
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
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::BeforeEnd)));
        expectRefusedThenHonest(outcome, [&] { return describePath(target("deep")); });
    }

    void streamEndsMidCommand() {
        SplitSendStream honest = primary_->honestCommands();
        SplitSendStream prefix{honest.version, {}};
        prefix.commands.assign(honest.commands.begin(),
                               honest.commands.begin() +
                                   static_cast<std::ptrdiff_t>(honest.commands.size() / 2));
        std::string torn = primary_->honestIncremental().substr(0, prefix.encode().size() + 7);
        ReceiveOutcome outcome = attemptReceive(root_, attempt(torn));
        expectRefusedThenHonest(outcome);
    }

    void unknownCommand() {
        SendStreamWriter extra = craft();
        extra.raw(99, {attr(SendAttr::Path, "dir/f"), attr(SendAttr::Data, "what is this")});
        ReceiveOutcome outcome = attemptReceive(root_, attempt(honestWith(extra, Insert::AfterSnapshot)));
        expectRefusedThenHonest(outcome,
                                [] { return std::string("a stream with command type 99 was taken"); });
    }

    // The sender disappears mid-stream (in the middle of a frame): the agent must
    // leave by itself, drop the staged receive and free the replica lock.
    void senderGoesAway() {
        const std::string& stream = primary_->honestIncremental();
        std::optional<AgentFrame> lastWords;
        {
            AgentSession session(root_);
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
            AgentSession next(root_);
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

    // 5. Requests of the wrong shape: an X frame, and the session goes on.
    void malformedRequest_data() {
        QTest::addColumn<QString>("variant");
        for (const char* row : {"op-number", "tree-string", "not-json", "blocks-missing", "raw-bytes-string",
                                "error-with-invalid-utf8"})
            QTest::newRow(row) << row;
    }
    void malformedRequest() {
        QFETCH(QString, variant);
        AgentSession session(root_);
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

    // 5. Hellos: protocol must be exactly the integer 1.
    void helloProtocol_data() {
        QTest::addColumn<QString>("variant");
        for (const char* row : {"protocol-2^32+1", "protocol-1.0", "protocol-string", "chain-missing"})
            QTest::newRow(row) << row;
    }
    void helloProtocol() {
        QFETCH(QString, variant);
        {
            AgentSession session(root_);
            if (variant == "protocol-2^32+1")
                session.hello(primary_->chainWire(), json(std::uint64_t{1} << 32 | 1));
            else if (variant == "protocol-1.0")
                session.hello(primary_->chainWire(), json(1.0));
            else if (variant == "protocol-string")
                session.hello(primary_->chainWire(), json("1"));
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
        std::string root = root_;
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
            CHECKED(expectRefusedFrame(answer, "relay-key", session));
            QVERIFY2(!fs::exists(root + "/.streamchain/relay"),
                     ("relay-key created " + root + "/.streamchain/relay").c_str());
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
