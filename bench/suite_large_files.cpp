// Small changes inside large files: a block written inside a big file and a stretch appended
// to a big log, each against the same bytes arriving as a new file (commit, and commit ->
// verified on an SSH replica) and against `rsync -a` moving the change.
#include "bench/suite.h"

#include "core/ledger/chain.h"
#include "core/ledger/commit.h"
#include "core/replication/send_blocks.h"
#include "core/ssh/ssh_session.h"
#include "tests/support/ssh_hosts.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <unistd.h>

using Clock = std::chrono::steady_clock;

namespace bench {

namespace {

constexpr int kRepetitions = 5; // each figure is the median
constexpr std::uint64_t kMiB = 1u << 20;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

std::string sizeName(std::uint64_t bytes) {
    if (bytes >= (1u << 30) && bytes % (1u << 30) == 0)
        return std::to_string(bytes >> 30) + " GiB";
    if (bytes >= kMiB)
        return std::to_string(bytes / kMiB) + " MiB";
    return std::to_string(bytes >> 10) + " KiB";
}

std::string hashedText(double bytes) {
    char text[32];
    if (bytes < static_cast<double>(kMiB))
        std::snprintf(text, sizeof text, "%.3g KiB", bytes / 1024);
    else
        std::snprintf(text, sizeof text, "%.3g MiB", bytes / static_cast<double>(kMiB));
    return text;
}

// The issue's sizes in --full; --quick keeps each scenario under a minute on two cores
// (the log's setup and rsync's rebuilds of it take most of that).
std::uint64_t insideFileBytes(bool full) { return full ? 1024 * kMiB : 256 * kMiB; }
std::uint64_t logFileBytes(bool full) { return full ? 2048 * kMiB : 384 * kMiB; }

} // namespace

std::uint64_t Suite::largeFilesBytes(bool full) {
    // The log also grows by every repetition's append.
    return insideFileBytes(full) + logFileBytes(full) + kRepetitions * 16 * kMiB;
}

void Suite::smallChangeInLargeFile() {
    const std::uint64_t bytes = insideFileBytes(full_);
    measureLargeFileChange({"4 KiB written inside a " + sizeName(bytes) + " file", "large/inside.bin", bytes, 4096,
                            false});
}

void Suite::appendToLargeLog() {
    const std::uint64_t bytes = logFileBytes(full_);
    measureLargeFileChange({"16 MiB appended to a " + sizeName(bytes) + " log", "large/append.log", bytes, 16 * kMiB,
                            true});
}

// Both timed after a sync, like every timed run of the suite; the send goes over the kept-open
// connection, as the daemon sends, and ends when the agent has checked and published.
Suite::ChangeTiming Suite::commitAndReplicate(const std::string& message) {
    ::sync();
    auto start = Clock::now();
    sc::CommitResult result = sc::commitBlock(*chain_, {message, nlohmann::json::array(), {}});
    ChangeTiming timing{since(start), 0, result.bytesHashed};
    ::sync();
    start = Clock::now();
    sendOverKeptConnection();
    timing.verifiedSeconds = since(start);
    return timing;
}

// What an operator runs: the live directory, the same ssh and host; no --delete (nothing is deleted).
PipelineResult Suite::rsyncDataTo(const std::string& replicaDir) {
    const std::string rsh = sc::shellCommand(sshClient(lab_->clientKey(), knownHosts_)); // rsync -e takes a command line
    return runPipeline({{"rsync", "-a", "-e", rsh, chain_->paths().data + "/",
                         "root@" + lab_->host(0).address + ":" + lab_->replicaPath(0, replicaDir) + "/"}});
}

void Suite::measureLargeFileChange(const LargeFileChange& change) {
    const std::string data = chain_->paths().data, rsyncCopy = "rsync-large";
    const std::string file = data + "/" + change.file;
    std::mt19937_64 random(shape_.seed * 104729 + change.fileBytes);
    // Setup, untimed: the large file committed, on the kept replica and in rsync's plain copy.
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::filesystem::create_directories(data + "/arrivals");
    writeRandomStretch(file, random(), change.fileBytes, 0);
    commit("large file " + change.file);
    sendOverKeptConnection();
    sctest::mustRun({"mkdir", "-p", lab_->replicaPath(0, rsyncCopy)});
    rsyncDataTo(rsyncCopy);

    // The same bytes arriving as a new file: the baseline.
    std::vector<double> newCommit, newVerified, newHashed;
    for (int i = 0; i < kRepetitions; ++i) {
        const std::string name = std::filesystem::path(change.file).stem().string() + "-" + std::to_string(i) + ".bin";
        writeRandomStretch(data + "/arrivals/" + name, random(), change.changeBytes, 0);
        ChangeTiming timing = commitAndReplicate("new file " + name);
        newCommit.push_back(timing.commitSeconds);
        newVerified.push_back(timing.verifiedSeconds);
        newHashed.push_back(static_cast<double>(timing.bytesHashed));
    }
    rsyncDataTo(rsyncCopy); // untimed: the copy holds what the replica holds again

    std::vector<double> inCommit, inVerified, inTotal, inHashed, rsyncSeconds;
    for (int i = 0; i < kRepetitions; ++i) {
        std::uint64_t offset = change.append ? std::filesystem::file_size(file)
                                             : random() % (change.fileBytes / 4096) * 4096;
        writeRandomStretch(file, random(), change.changeBytes, offset);
        ChangeTiming timing = commitAndReplicate("changed " + change.file);
        inCommit.push_back(timing.commitSeconds);
        inVerified.push_back(timing.verifiedSeconds);
        inTotal.push_back(timing.commitSeconds + timing.verifiedSeconds);
        inHashed.push_back(static_cast<double>(timing.bytesHashed));
        rsyncSeconds.push_back(rsyncDataTo(rsyncCopy).seconds);
    }

    const std::string asNewFile = "the same " + sizeName(change.changeBytes) + " as a new file";
    auto sizeIn = change.append ? logFileBytes : insideFileBytes;
    const std::string sizes = "--quick: " + sizeName(sizeIn(false)) + ", --full: " + sizeName(sizeIn(true));
    add({change.label + ": commit", asNewFile, "s", median(inCommit), median(newCommit), false, ">= 0.5",
         "goal: <= 2x the new file's; median of " + std::to_string(kRepetitions) + "; hashed by a commit: " +
             hashedText(median(inHashed)) + " vs " + hashedText(median(newHashed)) + "; " + sizes});
    add({change.label + ": commit -> verified", asNewFile, "s", median(inVerified), median(newVerified), false,
         ">= 0.5", "goal: <= 2x the new file's; SSH replica over the kept-open connection, as the daemon sends"});
    add({change.label + ": commit + send to verified", "rsync -a, same ssh and host", "s", median(inTotal),
         median(rsyncSeconds), false, ">= 10",
         "rsync -a of data/ to a plain copy on the same host; ours: the commit and the send until the replica "
         "has checked and published the block"});
}

} // namespace bench
