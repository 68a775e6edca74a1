#include "tests/support/differential_run.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "tests/support/rsync_comparison.h"

namespace fs = std::filesystem;

namespace sctest {

namespace {

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::string exitText(const CommandResult& result) { return "exit " + std::to_string(result.exitCode) + ":\n"; }

double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// What the targets of a send said when they failed (the events' error texts).
std::string sendErrors(const CommandResult& send) {
    std::string errors;
    for (const auto& line : jsonLines(send.out))
        if (line.value("event", "") == "target_failed")
            errors += "    " + line.value("error", "") + "\n";
    return errors.empty() ? send.out + send.err : errors + send.err;
}

// Every block 0..tip on each of `replicas` replicas must be reported, and as MATCH.
std::string replicaMismatches(const CommandResult& verify, std::uint64_t tip, std::size_t replicas) {
    std::string problems;
    std::map<std::string, std::set<std::uint64_t>> matched;
    for (const auto& line : jsonLines(verify.out)) {
        if (!line.contains("state"))
            continue;
        if (line["state"] == "MATCH")
            matched[line["replica"].get<std::string>()].insert(line["height"].get<std::uint64_t>());
        else
            problems += "    " + line.dump() + "\n";
    }
    for (const auto& [replica, heights] : matched)
        if (heights.size() != tip + 1)
            problems += "    " + replica + ": " + std::to_string(heights.size()) + " of " + std::to_string(tip + 1) +
                        " blocks MATCH\n";
    if (matched.size() != replicas)
        problems += "    " + std::to_string(matched.size()) + " of " + std::to_string(replicas) +
                    " replicas reported matching blocks\n";
    return problems + verify.err;
}

// Sparse image files: room costs nothing until written. A replica image holds every
// block plus a staged one, and btrfs frees a removed staging subvolume in the background;
// at 1 GiB + 48 MiB a round, receive once met ENOSPC (soak seed 1003 round 8, not on replay).
unsigned imageMiB(const DifferentialSettings& s) {
    return static_cast<unsigned>(std::min<std::size_t>(2048 + 96 * s.rounds, 16384));
}

FsWorkloadOptions workloadOptions(const DifferentialSettings& s) {
    FsWorkloadOptions options;
    options.hardLinks = s.hardLinks;
    options.setIdAfterChown = s.setIdAfterChown;
    options.largeXattrChanges = s.largeXattrChanges;
    return options;
}

} // namespace

DifferentialRun::DifferentialRun(std::uint64_t seed, const DifferentialSettings& settings)
    : seed_(seed), settings_(settings), lab_(1, imageMiB(settings)),
      chain_(imageMiB(settings), "ledger", {"--footprint-format", std::to_string(settings.footprintFormat)}),
      localImage_(imageMiB(settings)), workload_(chain_.data(), seed, workloadOptions(settings)),
      localReplica_(localImage_.path("replica")), sshReplica_(lab_.url(0, "replica")) {}

SeedOutcome DifferentialRun::runRounds() {
    for (std::size_t round = 1; round <= settings_.rounds; ++round) {
        auto started = std::chrono::steady_clock::now();
        bool huge = settings_.hugeSparseEvery && round % settings_.hugeSparseEvery == 0;
        std::vector<std::string> log = workload_.applyRound(settings_.operations, huge);
        timings_.clear();
        std::vector<CheckFailure> failures = checkRound(round);
        std::printf("seed %llu round %zu: %s in %.1f s (%s)\n", static_cast<unsigned long long>(seed_), round,
                    failures.empty() ? "all checks hold" : "FAILED", secondsSince(started), timings_.c_str());
        std::fflush(stdout);
        if (!failures.empty())
            return outcome(round, failures, log);
    }
    return {};
}

std::vector<DifferentialRun::CheckFailure> DifferentialRun::checkRound(std::size_t round) {
    std::string message = "seed " + std::to_string(seed_) + " round " + std::to_string(round);
    CommandResult commit = timedCli("commit", {"commit", chain_.root(), "-m", message, "--json"});
    if (commit.exitCode != 0)
        return {{"commit", exitText(commit) + commit.err}}; // nothing else to check
    std::vector<CheckFailure> failures;
    CommandResult deep = timedCli("verify --deep", {"verify", chain_.root(), "--deep", "--json"});
    if (deep.exitCode != 0)
        failures.push_back({"verify --deep", exitText(deep) + deep.out + deep.err});
    sendToReplicas(round, failures);
    verifyReplicas(round, failures);
    compareBlocks(round, failures);
    if (failures.empty())
        compared_ = round + 1;
    return failures;
}

void DifferentialRun::sendToReplicas(std::size_t round, std::vector<CheckFailure>& failures) {
    std::vector<std::string> send{"send", chain_.root(), "--to", localReplica_, "--to", sshReplica_, "--json"};
    bool compressed = round % 2 == 0;
    if (compressed)
        send = concat(send, {"--compress", "zstd"});
    CommandResult sent = timedCli("send", concat(send, reach()));
    if (sent.exitCode != 0)
        failures.push_back({compressed ? "send --compress zstd" : "send", exitText(sent) + sendErrors(sent)});
}

void DifferentialRun::verifyReplicas(std::size_t round, std::vector<CheckFailure>& failures) {
    CommandResult verify = timedCli(
        "verify --replica",
        concat({"verify", chain_.root(), "--replica", localReplica_, "--replica", sshReplica_, "--json"}, reach()));
    std::string mismatches = replicaMismatches(verify, round, 2);
    if (verify.exitCode != 0 || !mismatches.empty())
        failures.push_back({"verify --replica", exitText(verify) + mismatches});
}

void DifferentialRun::compareBlocks(std::size_t round, std::vector<CheckFailure>& failures) {
    auto started = std::chrono::steady_clock::now();
    const std::pair<std::string, std::string> replicas[] = {{"local", localImage_.path("replica/blocks/")},
                                                            {"ssh", lab_.replicaPath(0, "replica/blocks/")}};
    for (std::uint64_t height = compared_; height <= round; ++height)
        for (const auto& [name, blocks] : replicas) {
            std::string copy = blocks + blockName(height);
            std::string check = "rsync of block " + std::to_string(height) + " against the " + name + " replica";
            if (!fs::exists(copy)) {
                failures.push_back({check, "the replica has no block " + std::to_string(height) + "\n" +
                                               (name == "local" ? receiveByHand(height) : "")});
                continue;
            }
            TreeComparison comparison = compareTrees(chain_.block(height), copy);
            if (!comparison.identical())
                failures.push_back({check, comparison.describe()});
        }
    noteTime("rsync", started);
}

// A replica refused a block: is that btrfs receive making a different tree, or our
// footprint of a good one? Receive the same incremental with the plain tools next to
// the local replica's blocks (where its parent is) and let rsync compare.
std::string DifferentialRun::receiveByHand(std::uint64_t height) {
    if (height == 0 || !fs::exists(localImage_.path("replica/blocks/" + blockName(height - 1))))
        return "";
    TempDir streamDir("stream");
    std::string stream = streamDir.path() + "/stream";
    std::string into = localImage_.path("by-hand");
    fs::create_directories(into);
    CommandResult send =
        run({"btrfs", "send", "-q", "--proto", "2", "-f", stream, "-p", chain_.block(height - 1), chain_.block(height)});
    CommandResult receive = run({"btrfs", "receive", "-f", stream, into});
    if (send.exitCode != 0 || receive.exitCode != 0)
        return "    by hand, btrfs send | btrfs receive failed: " + send.err + receive.err;
    std::string received = into + "/" + blockName(height);
    TreeComparison comparison = compareTrees(chain_.block(height), received);
    run({"btrfs", "subvolume", "delete", received});
    if (comparison.identical())
        return "    by hand, btrfs send | btrfs receive makes a tree rsync finds identical: the replica's "
               "footprint is what differs\n";
    return "    by hand, btrfs send | btrfs receive makes a different tree, as the replica's receive did:\n" +
           comparison.describe();
}

SeedOutcome DifferentialRun::outcome(std::size_t round, const std::vector<CheckFailure>& failures,
                                     const std::vector<std::string>& log) const {
    std::string where = "seed " + std::to_string(seed_) + " round " + std::to_string(round);
    SeedOutcome result;
    result.summary = where + ": failed:";
    for (const auto& failure : failures) {
        result.summary += (&failure == &failures.front() ? " " : "; ") + failure.check;
        result.report += where + ": " + failure.check + " failed: " + failure.detail + "\n";
    }
    result.summary += "\n";
    result.report += "workload of " + where + " (replay: " + settings_.replayArguments(seed_, round) + "):\n";
    for (const auto& line : log)
        result.report += "    " + line + "\n";
    return result;
}

std::vector<std::string> DifferentialRun::reach() {
    return {"--identity", lab_.clientKey(), "--agent-path", STREAMCHAIN_CLI, "--accept-host-key",
            lab_.hostKeyFingerprint(0)};
}

CommandResult DifferentialRun::timedCli(const std::string& step, const std::vector<std::string>& args) {
    auto started = std::chrono::steady_clock::now();
    CommandResult result = cli(args);
    noteTime(step, started);
    return result;
}

void DifferentialRun::noteTime(const std::string& step, std::chrono::steady_clock::time_point started) {
    char text[64];
    std::snprintf(text, sizeof text, "%s%s %.1f s", timings_.empty() ? "" : ", ", step.c_str(), secondsSince(started));
    timings_ += text;
}

std::string DifferentialRun::blockName(std::uint64_t height) const {
    return fs::path(chain_.block(height)).filename().string();
}

} // namespace sctest
