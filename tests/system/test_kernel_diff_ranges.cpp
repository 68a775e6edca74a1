// The kernel's metadata-only diff on real btrfs: every 4 KiB block whose bytes differ
// between two snapshots lies inside the byte ranges the ChangeSet records for its path,
// for each kind of modification (protocols 1 and 2) and for seeded random sequences of
// them; small changes give small ranges. What the kernel sent for each kind is printed.
// SC_RANGES_SEED=<n> replays a random run.
#include "core/base/file_io.h"
#include "core/btrfs/kernel_diff.h"
#include "core/btrfs/kernel_send.h"
#include "core/btrfs/send_stream_parser.h"
#include "core/btrfs/subvolumes.h"
#include "tests/support/btrfs_fixture.h"
#include "tests/support/file_changes.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>

using namespace sctest;
using sc::ByteRange;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;

std::string describe(const sc::SendCommand& command) {
    using T = sc::SendCommandType;
    auto span = [](std::uint64_t offset, std::uint64_t length) {
        return std::to_string(offset) + "+" + std::to_string(length);
    };
    switch (command.type) {
    case T::Write:
        return "write " + span(command.fileOffset, command.dataLength);
    case T::UpdateExtent:
        return "update_extent " + span(command.fileOffset, command.size);
    case T::EncodedWrite:
        return "encoded_write " + span(command.fileOffset, command.size);
    case T::Clone:
        return "clone " + span(command.fileOffset, command.cloneLength) + " from " + command.clonePath;
    case T::Fallocate:
        return "fallocate " + span(command.fileOffset, command.size);
    case T::Truncate:
        return "truncate " + std::to_string(command.size);
    case T::Fileattr:
        return "fileattr";
    case T::SetXattr:
        return "set_xattr";
    case T::Chmod:
        return "chmod";
    case T::Chown:
        return "chown";
    default:
        return {}; // utimes and the rest: not of interest here
    }
}

// The commands of the metadata-only diff, described per path, to show what the kernel sends.
std::map<std::string, std::vector<std::string>>
commandsByPath(const std::string& parent, const std::string& child, std::uint32_t protocol) {
    std::map<std::string, std::vector<std::string>> byPath;
    sc::SendStreamParser parser([&](const sc::SendCommand& command) {
        if (std::string text = describe(command); !text.empty())
            byPath[command.path].push_back(text);
    });
    sc::KernelSendOptions options;
    options.parent = parent;
    options.noFileData = true;
    options.protocol = protocol;
    sc::KernelSend send(child, options);
    std::uint8_t buffer[1 << 16];
    while (std::size_t n = sc::readSome(send.fd(), buffer, sizeof buffer, "cannot read the diff"))
        parser.feed(std::span<const std::uint8_t>(buffer, n));
    send.finish();
    parser.finish();
    return byPath;
}

std::string joined(const std::vector<std::string>& parts) {
    std::string text;
    for (const auto& part : parts)
        text += (text.empty() ? "" : "; ") + part;
    return text.empty() ? "(nothing)" : text;
}

// Each protocol's diff of one pair of snapshots, and the commands behind it.
struct Diff {
    std::uint32_t protocol = 0;
    sc::ChangeSet changes;
    std::map<std::string, std::vector<std::string>> commands;
};

std::vector<Diff> diffBothProtocols(const std::string& parent, const std::string& child) {
    std::vector<Diff> diffs;
    for (std::uint32_t protocol : {1u, 2u})
        diffs.push_back({protocol, sc::kernelDiff(parent, child, nullptr, protocol),
                         commandsByPath(parent, child, protocol)});
    return diffs;
}

std::uint64_t seedFromEnvironment() {
    if (const char* text = std::getenv("SC_RANGES_SEED"))
        return std::strtoull(text, nullptr, 10);
    return std::random_device{}();
}

} // namespace

class TestKernelDiffRanges : public QObject {
    Q_OBJECT
  private slots:
    void eachKindOfChangeLiesInsideItsRanges() {
        BtrfsImage image(1024);
        std::mt19937_64 rng(14);
        const std::string base = image.path("base");
        sc::btrfs::createSubvolume(base);
        const std::vector<FileChange> kinds = fileChangeKinds();
        for (const auto& kind : kinds)
            makeFile(base + "/" + kind.name, 8 * kMiB, kind.sparse, rng);
        makeFile(base + "/" + kCloneSource, 8 * kMiB, false, rng);
        sc::btrfs::snapshot(base, image.path("before"), true);
        sc::btrfs::snapshot(image.path("before"), image.path("work"), false);
        for (const auto& kind : kinds)
            kind.apply(image.path("work"), kind.name, rng);
        sc::btrfs::snapshot(image.path("work"), image.path("after"), true);

        for (const Diff& diff : diffBothProtocols(image.path("before"), image.path("after"))) {
            for (const auto& kind : kinds) {
                std::string before = readFile(image.path("before/" + kind.name));
                std::string after = readFile(image.path("after/" + kind.name));
                const std::vector<ByteRange>* ranges = diff.changes.writtenRanges(kind.name);
                RangeCoverage coverage = checkCoverage(before, after, ranges);
                auto found = diff.commands.find(kind.name);
                qInfo(
                    "protocol %u, %s: sent %s; %s", diff.protocol, kind.name.c_str(),
                    joined(found == diff.commands.end() ? std::vector<std::string>{} : found->second).c_str(),
                    coverage.summary().c_str());
                QVERIFY2(coverage.missed.empty(), (kind.name + ": " + coverage.summary()).c_str());
                if (kind.small)
                    QVERIFY2(coverage.rangeBytes < kMiB, (kind.name + ": " + coverage.summary()).c_str());
            }
        }
    }
    void randomChangesLieInsideTheirRanges() {
        const std::uint64_t seed = seedFromEnvironment();
        qInfo("seed %llu (replay with SC_RANGES_SEED=%llu)", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
        std::mt19937_64 rng(seed);
        BtrfsImage image(1024);
        const std::string base = image.path("base");
        sc::btrfs::createSubvolume(base);
        makeFile(base + "/f", 6 * kMiB + 1234, true, rng);
        makeFile(base + "/" + kCloneSource, 8 * kMiB, false, rng);
        std::string parent = image.path("s0");
        sc::btrfs::snapshot(base, parent, true);
        for (int round = 1; round <= 4; ++round) {
            std::string work = image.path("w" + std::to_string(round));
            std::string child = image.path("s" + std::to_string(round));
            sc::btrfs::snapshot(parent, work, false);
            std::vector<std::string> applied;
            for (int i = 0; i < 30; ++i)
                applied.push_back(applyRandomChange(work, "f", rng));
            sc::btrfs::snapshot(work, child, true);
            std::string before = readFile(parent + "/f");
            std::string after = readFile(child + "/f");
            for (const Diff& diff : diffBothProtocols(parent, child)) {
                RangeCoverage coverage = checkCoverage(before, after, diff.changes.writtenRanges("f"));
                auto found = diff.commands.find("f");
                std::string context = "seed " + std::to_string(seed) + ", round " + std::to_string(round) +
                                      ", protocol " + std::to_string(diff.protocol) + ": " +
                                      coverage.summary();
                qInfo("%s", context.c_str());
                QVERIFY2(coverage.missed.empty(),
                         (context + "\nchanges: " + joined(applied) + "\nsent: " +
                          joined(found == diff.commands.end() ? std::vector<std::string>{} : found->second))
                             .c_str());
            }
            parent = child;
        }
    }
};

STREAMCHAIN_SYSTEM_TEST_MAIN(TestKernelDiffRanges)
#include "test_kernel_diff_ranges.moc"
