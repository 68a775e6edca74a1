#include "bench/suite.h"

#include "bench/pipeline.h"
#include "core/base/height_names.h"
#include "core/btrfs/subvolumes.h"
#include "core/daemon/control_client.h"
#include "core/endpoints/endpoint_pool.h"
#include "core/footprint/footprint.h"
#include "core/ledger/block_header.h"
#include "core/ledger/chain.h"
#include "core/ledger/commit.h"
#include "core/replication/send_blocks.h"
#include "core/ssh/ssh_session.h"
#include "tests/support/chain_fixture.h"
#include "tests/support/ssh_hosts.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fcntl.h>
#include <fstream>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using Clock = std::chrono::steady_clock;

namespace bench {

namespace {

// The full-send and fan-out rows alternate ours and the peer (see runPaired), each run from the
// same state (samePageCache); their notes list every run.
constexpr int kPairedRounds = 3;

double mb(double bytes) { return bytes / 1e6; }
double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

Argv ours(std::initializer_list<std::string> args, const std::vector<std::string>& extra = {}) {
    Argv argv{STREAMCHAIN_CLI};
    argv.insert(argv.end(), args);
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
}

std::string machineName() {
    utsname u{};
    ::uname(&u);
    long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
    return std::to_string(cores) + " cores, " + u.machine + ", Linux " + u.release;
}

} // namespace

Suite::Suite(bool full, std::uint64_t seed, std::uint32_t footprintFormat)
    : full_(full), footprintFormat_(footprintFormat), shape_(full ? fullShape(seed) : quickShape(seed)) {
    report_.mode = full ? "full" : "quick";
    if (footprintFormat != sc::kNewestFootprintFormat)
        report_.mode += ", footprint format " + std::to_string(footprintFormat);
    report_.machine = machineName();
    report_.date = sc::utcTimestampNow().substr(0, 10);
}

Suite::~Suite() = default;

std::string Suite::url(int host, const std::string& relative) const { return lab_->url(host, relative); }

std::vector<std::string> Suite::reach(int host) const {
    return {"--identity", lab_->clientKey(), "--accept-host-key", lab_->hostKeyFingerprint(host), "--agent-path",
            STREAMCHAIN_CLI};
}

std::string Suite::block(std::uint64_t height) const { return chain_->paths().block(height); }

std::uint64_t Suite::commit(const std::string& message) {
    return sc::commitBlock(*chain_, {message, nlohmann::json::array(), {}}).header.height;
}

void Suite::add(Row row) {
    std::printf("  %-44s %-30s ours %.4g %s, peer %.4g\n", row.scenario.c_str(), row.peer.c_str(), row.ours,
                row.unit.c_str(), row.theirs);
    std::fflush(stdout);
    report_.rows.push_back(std::move(row));
}

void Suite::prepare() {
    const unsigned datasetMiB = static_cast<unsigned>(shape_.totalBytes() >> 20);
    std::printf("bench: dataset of %u MiB (seed %llu), primary and local images, 3 namespace hosts\n", datasetMiB,
                static_cast<unsigned long long>(shape_.seed));
    std::fflush(stdout);
    // Sparse images: each host ends up holding about ten copies of the dataset (one per peer and scenario).
    // The large-file scenarios add their files to data/; host 0 holds them twice (the replica and
    // rsync's copy) and, while rsync rebuilds one, a third time.
    const auto largeMiB = static_cast<unsigned>(largeFilesBytes(full_) >> 20);
    lab_ = std::make_unique<sctest::SshLab>(3, std::max(2048u, datasetMiB * 16) + largeMiB * 3);
    primary_ = std::make_unique<sctest::BtrfsImage>(std::max(2048u, datasetMiB * 4) + largeMiB * 2);
    local_ = std::make_unique<sctest::BtrfsImage>(std::max(1024u, datasetMiB * 5)); // room for a paired round
    chain_ = std::make_unique<sc::Chain>(sc::Chain::init(primary_->path("ledger"), {"bench", "sha256", footprintFormat_}));
    knownHosts_ = chain_->paths().meta + "/known_hosts";
    writeDataset(chain_->paths().data, shape_);
    datasetBlock_ = commit("dataset");
    samePageCache();
    // Pin every host's key once (a verify against an empty path changes nothing else).
    for (int host = 0; host < 3; ++host)
        sctest::run(ours({"verify", chain_->paths().root, "--replica", url(host, "pin")}, reach(host)));
}

void Suite::samePageCache() {
    // A removed round's copies are cleaned up by btrfs in the background; the next contender
    // would pay for it (in a paired fan-out the runs after a removal took 20% more CPU).
    for (const std::string& fs : {primary_->path(""), local_->path(""), lab_->replicaPath(0, ""),
                                  lab_->replicaPath(1, ""), lab_->replicaPath(2, "")}) {
        // A transaction commit wakes the cleaner now rather than at the next periodic commit.
        sctest::mustRun({"btrfs", "filesystem", "sync", fs});
        sctest::mustRun({"btrfs", "subvolume", "sync", fs});
    }
    // Runs that each write 1-4 GB otherwise leave the page cache, and how much memory is in use,
    // different for the next contender: in a paired fan-out the second run took twice the CPU
    // (copying into page cache pages, on this virtual machine) whichever contender it was.
    dropPageCache();
    // A snapshot's files are new inodes to the page cache: read the block once so no contender
    // pays for cold reads the others skip.
    runPipeline({{"btrfs", "send", "-q", block(datasetBlock_)}});
}

// Round 0 keeps its copy (later scenarios build on it); later rounds' copies are removed, untimed.
static std::string roundName(const std::string& name, int round) {
    return round == 0 ? name : name + "-r" + std::to_string(round);
}

void Suite::localFull() {
    auto paired = runPaired(
        kPairedRounds,
        [&](int round) {
            const std::string target = local_->path(roundName("ours", round));
            auto result = runPipeline(
                {ours({"send", chain_->paths().root, "--to", target, "--upto", std::to_string(datasetBlock_)})});
            if (round > 0)
                sc::btrfs::removeTree(target);
            return result;
        },
        [&](int round) {
            const std::string peer = local_->path(roundName("peer", round));
            std::filesystem::create_directories(peer);
            auto result = runPipeline({{"btrfs", "send", "-q", block(datasetBlock_)}, {"btrfs", "receive", "-q", peer}});
            if (round > 0)
                sc::btrfs::removeTree(peer);
            return result;
        },
        [&] { samePageCache(); });
    double bytes = static_cast<double>(shape_.totalBytes());
    add({"full send, local btrfs target", "btrfs send | btrfs receive", "MB/s", mb(bytes) / paired.ours.seconds,
         mb(bytes) / paired.peer.seconds, true, ">= 0.95", paired.runsNote()});
}

void Suite::sshFull() {
    const std::string peerPath = lab_->replicaPath(0, "peer");
    sctest::mustRun({"mkdir", "-p", peerPath, lab_->replicaPath(0, "rsync")});
    // btrbk first: it takes any related subvolume on the target filesystem as a parent, and would
    // find the copies the others leave there.
    auto btrbk = btrbkRun();
    const std::string address = lab_->host(0).address;
    auto paired = runPaired(
        kPairedRounds,
        [&](int round) {
            const std::string name = roundName("ours", round);
            auto result = runPipeline({ours({"send", chain_->paths().root, "--to", url(0, name), "--upto",
                                             std::to_string(datasetBlock_)},
                                            reach(0))});
            if (round > 0)
                sc::btrfs::removeTree(lab_->replicaPath(0, name));
            return result;
        },
        [&](int round) {
            const std::string path = round == 0 ? peerPath : lab_->replicaPath(0, roundName("peer", round));
            sctest::mustRun({"mkdir", "-p", path});
            auto result = runPipeline({{"btrfs", "send", "-q", block(datasetBlock_)},
                                       sshTo(address, lab_->clientKey(), knownHosts_, {"btrfs", "receive", "-q", path})});
            if (round > 0)
                sc::btrfs::removeTree(path);
            return result;
        },
        [&] { samePageCache(); });
    const PipelineResult us = paired.ours, pipe = paired.peer;
    sshFullSeconds_ = us.seconds;
    sshPipeSeconds_ = pipe.seconds;
    const std::string rsh = sc::shellCommand(sshClient(lab_->clientKey(), knownHosts_)); // rsync -e takes a command line
    auto rsync = runPipeline({{"rsync", "-a", "--delete", "-e", rsh, block(datasetBlock_) + "/",
                               "root@" + address + ":" + lab_->replicaPath(0, "rsync") + "/"}});
    double bytes = mb(static_cast<double>(shape_.totalBytes()));
    add({"full send over SSH", "btrfs send | ssh | btrfs receive", "MB/s", bytes / us.seconds, bytes / pipe.seconds,
         true, ">= 1.0", paired.runsNote()});
    add({"full send over SSH", "rsync -a", "MB/s", bytes / us.seconds, bytes / rsync.seconds, true, "", ""});
    add({"full send over SSH", "btrbk run (snapshot + send)", "MB/s", bytes / us.seconds, bytes / btrbk.seconds, true,
         "", ""});
}

// btrbk for the same job: its own snapshot of the working data, sent to host 0 (incrementally
// from its previous one). Its ssh is OpenSSH with our pinned host keys, through a wrapper on PATH.
PipelineResult Suite::btrbkRun() {
    const std::string dir = primary_->path("btrbk-config");
    if (!std::filesystem::exists(dir)) {
        std::filesystem::create_directories(dir);
        std::filesystem::create_directories(primary_->path("btrbk_snapshots"));
        sctest::mustRun({"mkdir", "-p", lab_->replicaPath(0, "btrbk")});
        sctest::writeFile(dir + "/ssh", "#!/bin/sh\nexec /usr/bin/ssh -o UserKnownHostsFile=" + sc::shellQuote(knownHosts_) +
                                            " -o StrictHostKeyChecking=yes -o BatchMode=yes \"$@\"\n");
        std::filesystem::permissions(dir + "/ssh", std::filesystem::perms::owner_all);
        sctest::writeFile(dir + "/btrbk.conf", "ssh_identity " + lab_->clientKey() +
                                                   "\nssh_user root\nsnapshot_preserve_min all\ntarget_preserve_min all\n"
                                                   "snapshot_dir btrbk_snapshots\nvolume " + primary_->mountPoint() +
                                                   "\n  subvolume ledger/data\n    target send-receive ssh://" +
                                                   lab_->host(0).address + lab_->replicaPath(0, "btrbk") + "\n");
    }
    const char* path = std::getenv("PATH");
    return runPipeline({{"env", "PATH=" + dir + ":" + (path ? path : "/usr/bin:/bin"), "btrbk", "-c",
                         dir + "/btrbk.conf", "-q", "run"}});
}

sc::SendReport Suite::sendOverKeptConnection() {
    sc::SendRequest request;
    request.targets.push_back({sc::parseTargetSpec(url(0, "kept")),
                               {knownHosts_, lab_->clientKey(), lab_->hostKeyFingerprint(0), STREAMCHAIN_CLI},
                               {}});
    if (!keptPool_)
        keptPool_ = std::make_unique<sc::EndpointPool>(chain_->identity());
    sc::SendReport report = sc::sendBlocks(*chain_, request, [](const sc::SendEvent&) {}, nullptr, keptPool_.get());
    if (!report.allOk())
        throw std::runtime_error("send over the kept-open connection failed: " + report.targets.front().error);
    return report;
}

void Suite::sshIncremental(double fraction, const std::string& label) {
    // As a daemon would have long before the change: connected, agent up, replica in sync.
    sendOverKeptConnection();
    std::uint64_t parent = chain_->heights().back();
    changeDataset(chain_->paths().data, shape_, fraction, static_cast<std::uint32_t>(parent));
    std::uint64_t child = commit("change " + label);
    auto us = runPipeline({ours({"send", chain_->paths().root, "--to", url(0, "ours"), "--upto", std::to_string(child)},
                                reach(0))});
    const std::string address = lab_->host(0).address;
    auto pipe = runPipeline({{"btrfs", "send", "-q", "-p", block(parent), block(child)},
                             sshTo(address, lab_->clientKey(), knownHosts_,
                                   {"btrfs", "receive", "-q", lab_->replicaPath(0, "peer")})});
    const std::string rsh = sc::shellCommand(sshClient(lab_->clientKey(), knownHosts_)); // rsync -e takes a command line
    auto rsync = runPipeline({{"rsync", "-a", "--delete", "-e", rsh, block(child) + "/",
                               "root@" + address + ":" + lab_->replicaPath(0, "rsync") + "/"}});
    ::sync();
    auto keptStart = Clock::now();
    sendOverKeptConnection();
    double kept = since(keptStart);
    const std::string scenario = "incremental over SSH, " + label + " changed";
    add({scenario, "btrfs send -p | ssh | receive", "s", us.seconds, pipe.seconds, false, "", ""});
    add({scenario, "rsync -a", "s", us.seconds, rsync.seconds, false, "",
         "streamchain send: a new process and SSH connection, as the peers pay"});
    add({scenario + ", kept-open connection", "rsync -a", "s", kept, rsync.seconds, false,
         fraction < 0.01 ? ">= 10" : "", "as the daemon sends: connection and agent already up"});
    auto btrbk = btrbkRun();
    add({scenario, "btrbk run (snapshot + send -p)", "s", us.seconds, btrbk.seconds, false, "", ""});
}

void Suite::compressedShaped() {
    const std::string rate = full_ ? "100mbit" : "400mbit";
    lab_->shapeLink(1, rate);
    const std::string peerPath = lab_->replicaPath(1, "zpeer");
    sctest::mustRun({"mkdir", "-p", peerPath});
    auto us = runPipeline({ours({"send", chain_->paths().root, "--to", url(1, "zours"), "--compress", "zstd:3",
                                 "--upto", std::to_string(datasetBlock_)},
                                reach(1))});
    // The peer: zstd on both ends of the same pipe; the remote side is one quoted pipeline.
    const std::string remote = sc::shellCommand({"zstd", "-d", "-q"}) + " | " +
                               sc::shellCommand({"btrfs", "receive", "-q", peerPath});
    auto them = runPipeline({{"btrfs", "send", "-q", block(datasetBlock_)},
                             {"zstd", "-3", "-T0", "-q", "-c"},
                             sshTo(lab_->host(1).address, lab_->clientKey(), knownHosts_, remote)});
    lab_->shapeLink(1, "");
    double bytes = mb(static_cast<double>(shape_.totalBytes()));
    add({"compressed full send, link shaped to " + rate, "send | zstd -3 -T0 | ssh | zstd -d", "MB/s",
         bytes / us.seconds, bytes / them.seconds, true, ">= 0.9", ""});
}

void Suite::fanOut() {
    auto oursRun = [&](int round) {
        const std::string name = roundName("fan", round);
        std::vector<std::string> args{"send", chain_->paths().root, "--upto", std::to_string(datasetBlock_)};
        for (int host = 0; host < 3; ++host) {
            args.push_back("--to");
            args.push_back(url(host, name));
        }
        Argv argv = ours({});
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<std::string> extra = reach(0);
        extra.erase(extra.begin() + 2, extra.begin() + 4); // keys are pinned by now
        argv.insert(argv.end(), extra.begin(), extra.end());
        auto result = runPipeline({argv});
        for (int host = 0; host < 3 && round > 0; ++host)
            sc::btrfs::removeTree(lab_->replicaPath(host, name));
        return result;
    };
    auto pipesRun = [&](int round) {
        const std::string name = roundName("fanpeer", round);
        std::vector<std::vector<Argv>> pipes;
        for (int host = 0; host < 3; ++host) {
            std::string path = lab_->replicaPath(host, name);
            sctest::mustRun({"mkdir", "-p", path});
            pipes.push_back({{"btrfs", "send", "-q", block(datasetBlock_)},
                             sshTo(lab_->host(host).address, lab_->clientKey(), knownHosts_,
                                   {"btrfs", "receive", "-q", path})});
        }
        auto result = runConcurrently(pipes);
        for (int host = 0; host < 3 && round > 0; ++host)
            sc::btrfs::removeTree(lab_->replicaPath(host, name));
        return result;
    };
    auto paired = runPaired(kPairedRounds, oursRun, pipesRun, [&] { samePageCache(); });
    const PipelineResult us = paired.ours, them = paired.peer;
    add({"fan-out to 3 replicas: wall time", "3 separate pipelines at once", "s", us.seconds, them.seconds, false, "",
         paired.runsNote()});
    add({"fan-out to 3 replicas: primary CPU", "3 separate pipelines at once", "CPU s", us.cpuSeconds,
         them.cpuSeconds, false, "", "streamchain: one kernel send read for all three"});
    char bound[160] = "";
    if (sshPipeSeconds_ > 0)
        std::snprintf(bound, sizeof bound, "; three bare pipes at once take %.2gx one here (the receivers share the cores)",
                      them.seconds / sshPipeSeconds_);
    add({"fan-out to 3 vs streamchain to 1", "(streamchain, one replica)", "s", us.seconds, sshFullSeconds_, false,
         ">= 0.77", std::string("target: fan-out wall <= 1.3x one replica's") + bound});
}

void Suite::relayChain() {
    // r1 direct, r2 behind r1, r3 behind r2; each downstream host also authorizes its relay's key.
    const std::string root = chain_->paths().root, client = sctest::readFile(lab_->clientKey() + ".pub");
    sctest::mustRun(ours({"replica", "add", root, "r1", url(0, "relay"), "--agent-path", STREAMCHAIN_CLI},
                         {"--identity", lab_->clientKey()}));
    for (int host = 1; host < 3; ++host) {
        std::string relay = "r" + std::to_string(host);
        std::string key = sctest::mustRun(ours({"replica", "relay-key", root, relay}));
        lab_->setAuthorizedKeys(host, client + key);
        sctest::mustRun(ours({"replica", "add", root, "r" + std::to_string(host + 1), url(host, "relay"), "--via",
                              relay, "--accept-host-key", lab_->hostKeyFingerprint(host), "--agent-path",
                              STREAMCHAIN_CLI}));
    }
    // The relayed stream: a new block of about the dataset's size of changes (5%) through all three.
    changeDataset(chain_->paths().data, shape_, 0.05, 77);
    std::uint64_t child = commit("relay block");
    auto us = runPipeline({ours({"send", root, "--to", "r1", "--to", "r2", "--to", "r3"})});
    // The peer: hop by hop, each hop's pipe run from the host that holds the block.
    std::uint64_t parent = child - 1;
    std::vector<std::string> paths;
    for (int host = 0; host < 3; ++host) {
        paths.push_back(lab_->replicaPath(host, "hops"));
        sctest::mustRun({"mkdir", "-p", paths.back()});
    }
    // Untimed: every hop first holds the parent, as the relays do.
    runPipeline({{"btrfs", "send", "-q", block(parent)},
                 sshTo(lab_->host(0).address, lab_->clientKey(), knownHosts_, {"btrfs", "receive", "-q", paths[0]})});
    for (int host = 1; host < 3; ++host)
        runPipeline({{"btrfs", "send", "-q", paths[static_cast<std::size_t>(host - 1)] + "/" + sc::heightName(parent)},
                     sshTo(lab_->host(host).address, lab_->clientKey(), knownHosts_,
                           {"btrfs", "receive", "-q", paths[static_cast<std::size_t>(host)]})});
    auto start = Clock::now();
    runPipeline({{"btrfs", "send", "-q", "-p", block(parent), block(child)},
                 sshTo(lab_->host(0).address, lab_->clientKey(), knownHosts_, {"btrfs", "receive", "-q", paths[0]})});
    for (int host = 1; host < 3; ++host) {
        const std::string& from = paths[static_cast<std::size_t>(host - 1)];
        // The hop runs inside the previous host's namespace, as a relay host would run it.
        const Argv inPrevious{"ip", "netns", "exec", lab_->host(host - 1).netns};
        Argv send = inPrevious, ssh = inPrevious;
        for (const auto& word : Argv{"btrfs", "send", "-q", "-p", from + "/" + sc::heightName(parent),
                                     from + "/" + sc::heightName(child)})
            send.push_back(word);
        for (const auto& word : sshTo(lab_->host(host).address, lab_->clientKey(), knownHosts_,
                                      Argv{"btrfs", "receive", "-q", paths[static_cast<std::size_t>(host)]}))
            ssh.push_back(word);
        runPipeline({send, ssh});
    }
    add({"relay chain of 3 hosts (5% change)", "3 sequential hops", "s", us.seconds, since(start), false, "", ""});
}

void Suite::catchUp() {
    const int blocks = full_ ? 500 : 30;
    const int peerMeasured = std::min(blocks, full_ ? 60 : 30);
    // Both targets start from the same block; then `blocks` small blocks appear.
    std::uint64_t base = chain_->heights().back();
    sctest::mustRun(ours({"send", chain_->paths().root, "--to", url(2, "catchup")}, reach(2)));
    const std::string peerPath = lab_->replicaPath(2, "catchpeer");
    sctest::mustRun({"mkdir", "-p", peerPath});
    runPipeline({{"btrfs", "send", "-q", block(base)},
                 sshTo(lab_->host(2).address, lab_->clientKey(), knownHosts_, {"btrfs", "receive", "-q", peerPath})});
    for (int i = 0; i < blocks; ++i) {
        sctest::writeFile(chain_->paths().data + "/catchup.txt", "small change " + std::to_string(i));
        commit("small " + std::to_string(i));
    }
    auto us = runPipeline({ours({"send", chain_->paths().root, "--to", url(2, "catchup")}, reach(2))});
    auto start = Clock::now();
    for (int i = 0; i < peerMeasured; ++i)
        runPipeline({{"btrfs", "send", "-q", "-p", block(base + static_cast<std::uint64_t>(i)),
                      block(base + static_cast<std::uint64_t>(i) + 1)},
                     sshTo(lab_->host(2).address, lab_->clientKey(), knownHosts_, {"btrfs", "receive", "-q", peerPath})});
    double peer = since(start) * blocks / peerMeasured;
    add({"replica " + std::to_string(blocks) + " small blocks behind catches up", "one send -p | ssh | receive per block",
         "s", us.seconds, peer, false, "",
         peerMeasured < blocks ? "peer: " + std::to_string(peerMeasured) + " blocks measured, scaled" : ""});
}

void Suite::lag() {
    const int blocks = full_ ? 100 : 15;
    // Over a kept-open connection, as the daemon keeps it; the figure ends when the agent has checked and published.
    std::string output = sctest::mustRun({std::string(STREAMCHAIN_BENCH_LAG), std::to_string(blocks)});
    auto value = [&](const std::string& label, int column) {
        auto at = output.find(label);
        if (at == std::string::npos)
            return 0.0;
        std::istringstream line(output.substr(at + label.size()));
        double numbers[2] = {0, 0};
        std::string unit;
        line >> numbers[0] >> unit >> numbers[1];
        return numbers[column];
    };
    add({"commit -> verified lag p50 (1 MB change)", "seed's 1 s polling loop", "ms", value("lag p50", 0),
         value("lag p50", 1), false, "<= 100 ms", std::to_string(blocks) + " blocks"});
    add({"commit -> verified lag p99", "seed's 1 s polling loop", "ms", value("lag p99", 0), value("lag p99", 1),
         false, "<= 300 ms", ""});
}

void Suite::commitRate() {
    const int blocks = full_ ? 100 : 20;
    auto start = Clock::now();
    for (int i = 0; i < blocks; ++i) {
        sctest::writeFile(chain_->paths().data + "/rate.txt", "commit " + std::to_string(i));
        commit("rate " + std::to_string(i));
    }
    double ours = blocks / since(start);
    const std::string snaps = primary_->path("raw-snapshots");
    sctest::mustRun({"btrfs", "subvolume", "create", snaps});
    start = Clock::now();
    for (int i = 0; i < blocks; ++i) {
        sctest::writeFile(chain_->paths().data + "/rate.txt", "snapshot " + std::to_string(i));
        runPipeline({{"btrfs", "subvolume", "snapshot", "-r", chain_->paths().data, snaps + "/" + std::to_string(i)}});
    }
    double raw = blocks / since(start);
    add({"block commit rate, small changes", "btrfs subvolume snapshot -r", "blocks/s", ours, raw, true, ">= 0.5",
         "streamchain: snapshot, footprint, signed header"});
}

void Suite::footprintAndVerify() {
    // 1 MB changed in the dataset-sized chain: the footprint costs the change, not the chain.
    sctest::writeFile(chain_->paths().data + "/one-megabyte.bin", sctest::mustRun({"head", "-c", "1000000", "/dev/urandom"}));
    sc::CommitResult result = sc::commitBlock(*chain_, {"1 MB change", nlohmann::json::array(), {}});
    auto options = sc::footprintOptionsOf(chain_->identity());
    auto start = Clock::now();
    sc::FootprintTree whole = sc::computeFootprint(block(result.header.height), options);
    double rehash = since(start);
    add({"footprint after 1 MB changed", "full re-hash of the block", "s", result.seconds, rehash, false,
         "cost ~ change", "whole commit (snapshot, diff, footprint, sign) vs footprint alone"});
    // Deep verify throughput: re-hashing the dataset block vs the machine's hashing tools over the same bytes.
    start = Clock::now();
    sc::computeFootprint(block(datasetBlock_), options);
    double ours = mb(static_cast<double>(shape_.totalBytes())) / since(start);
    auto sums = runPipeline({{"find", block(datasetBlock_), "-type", "f", "-exec", "sha256sum", "{}", "+"}});
    add({"deep verify throughput", "sha256sum over the same files", "MB/s", ours,
         mb(static_cast<double>(shape_.totalBytes())) / sums.seconds, true, "", ""});
    auto dgst = runPipeline({{"openssl", "dgst", "-sha256", block(datasetBlock_) + "/big/blob0.bin"}});
    add({"deep verify throughput", "openssl dgst -sha256 (one large file)", "MB/s", ours,
         mb(static_cast<double>(shape_.largeFileBytes)) / dgst.seconds, true, "", ""});
}

void Suite::daemonMemory() {
    // The daemon onboards a fresh replica: the initial sync of the whole chain runs inside it.
    const std::string socket = primary_->path("daemon.sock");
    sctest::TempDir logs("daemon");
    const std::string log = logs.path() + "/daemon.log"; // its event log would interleave with the table
    pid_t pid = ::fork();
    if (pid == 0) {
        int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ::dup2(out, 1);
        ::dup2(out, 2);
        std::vector<std::string> argv{STREAMCHAIN_CLI, "daemon", chain_->paths().root, "--socket", socket};
        std::vector<char*> args;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    for (int i = 0; i < 100 && !std::filesystem::exists(socket); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    nlohmann::json job = sc::controlRequest(socket, {{"op", "replica-add"}, {"name", "rss"}, {"url", url(0, "rss")},
                                                     {"identity", lab_->clientKey()}, {"agent_path", STREAMCHAIN_CLI}});
    std::string state = "running";
    for (int i = 0; i < 3000 && state == "running"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        nlohmann::json status = sc::controlRequest(socket, {{"op", "status"}});
        for (const auto& j : status["jobs"])
            if (j["job"] == job["job"])
                state = j["state"].get<std::string>();
    }
    std::ifstream proc("/proc/" + std::to_string(pid) + "/status");
    double peakMiB = 0;
    for (std::string line; std::getline(proc, line);)
        if (line.rfind("VmHWM:", 0) == 0)
            peakMiB = std::stod(line.substr(6)) / 1024.0;
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    if (state != "done") {
        std::string said = sctest::readFile(log);
        throw std::runtime_error("the daemon's initial sync ended " + state + "; its log ends: " +
                                 said.substr(said.size() > 400 ? said.size() - 400 : 0));
    }
    add({"daemon peak RSS streaming the chain (" + std::to_string(shape_.totalBytes() >> 20) + " MiB+)", "-", "MiB",
         peakMiB, 0, false, "<= 100 MiB", ""});
}

// In run order: later scenarios build on the replicas and blocks the earlier ones leave.
const std::vector<Suite::Scenario>& Suite::scenarios() {
    static const std::vector<Scenario> all = {
        {"local-full", [](Suite& s) { s.localFull(); }},
        {"ssh-full", [](Suite& s) { s.sshFull(); }},
        {"incremental-0.1", [](Suite& s) { s.sshIncremental(0.001, "0.1%"); }},
        {"incremental-5", [](Suite& s) { s.sshIncremental(0.05, "5%"); }},
        {"compressed", [](Suite& s) { s.compressedShaped(); }},
        {"fan-out", [](Suite& s) { s.fanOut(); }},
        {"relay", [](Suite& s) { s.relayChain(); }},
        {"footprint", [](Suite& s) { s.footprintAndVerify(); }},
        {"daemon-memory", [](Suite& s) { s.daemonMemory(); }},
        {"catch-up", [](Suite& s) { s.catchUp(); }},
        {"commit-rate", [](Suite& s) { s.commitRate(); }},
        {"lag", [](Suite& s) { s.lag(); }},
        {"small-change-in-large-file", [](Suite& s) { s.smallChangeInLargeFile(); }},
        {"append-to-large-log", [](Suite& s) { s.appendToLargeLog(); }},
    };
    return all;
}

std::string Suite::scenarioNames() {
    std::string names;
    for (const auto& [name, scenario] : scenarios())
        names += (names.empty() ? "" : " ") + name;
    return names;
}

Report Suite::run(const std::vector<std::string>& only) {
    for (const auto& wanted : only)
        if (std::none_of(scenarios().begin(), scenarios().end(), [&](const auto& s) { return s.first == wanted; }))
            throw std::invalid_argument("no scenario named '" + wanted + "' (scenarios: " + scenarioNames() + ")");
    prepare();
    for (const auto& [name, scenario] : scenarios()) {
        if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end())
            continue;
        std::printf("bench: %s\n", name.c_str());
        std::fflush(stdout);
        try {
            scenario(*this);
        } catch (const std::exception& e) {
            report_.failures.push_back(name + ": " + e.what());
            std::printf("  FAILED: %s\n", e.what());
        }
    }
    return report_;
}

} // namespace bench
