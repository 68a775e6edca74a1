// Commit-to-verified lag over a kept-open SSH connection, p50/p99 over N blocks of
// a 1 MB change, against the seed's loop (poll every 1 s, then
// `btrfs send -p | ssh | btrfs receive`), whose pipe is measured in the same run.
// Run through bench/lag (root; private mount namespace; a namespace host with sshd).
#include "bench/pipeline.h"
#include "core/endpoints/endpoint_pool.h"
#include "core/endpoints/remote_endpoint.h"
#include "core/ledger/chain.h"
#include "core/ledger/commit.h"
#include "core/replication/send_blocks.h"
#include "tests/support/ssh_hosts.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

using namespace sctest;
using Clock = std::chrono::steady_clock;

namespace {

double percentile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

double seconds(Clock::time_point from) { return std::chrono::duration<double>(Clock::now() - from).count(); }

} // namespace

int main(int argc, char** argv) {
    int blocks = argc > 1 ? std::atoi(argv[1]) : 100;
    enterPrivateMountNamespace();
    SshLab lab(1, 2048);
    BtrfsImage primary(2048);
    std::string root = primary.path("ledger");
    sc::Chain chain = sc::Chain::init(root, {"ledger", "sha256"});
    writeFile(root + "/data/base.bin", mustRun({"head", "-c", "50000000", "/dev/urandom"}));
    sc::commitBlock(chain, {"base", nlohmann::json::array(), {}});

    sc::TargetSpec target = sc::parseTargetSpec(lab.url(0, "replica"));
    sc::EndpointOptions options{root + "/.streamchain/known_hosts", lab.clientKey(), lab.hostKeyFingerprint(0),
                                STREAMCHAIN_CLI};
    sc::EndpointPool pool(chain.identity()); // one kept-open connection for every block
    sc::SendRequest request;
    request.targets.push_back({target, options, {}});
    auto ignore = [](const sc::SendEvent&) {};
    if (!sc::sendBlocks(chain, request, ignore, nullptr, &pool).allOk())
        return 1;

    std::vector<double> lag, commitTime;
    for (int i = 0; i < blocks; ++i) {
        writeFile(root + "/data/change.bin", mustRun({"head", "-c", "1000000", "/dev/urandom"}));
        auto start = Clock::now();
        sc::commitBlock(chain, {"change " + std::to_string(i), nlohmann::json::array(), {}});
        commitTime.push_back(seconds(start));
        auto committed = Clock::now();
        sc::SendReport report = sc::sendBlocks(chain, request, ignore, nullptr, &pool);
        if (!report.allOk()) {
            std::fprintf(stderr, "send failed: %s\n", report.targets.front().error.c_str());
            return 1;
        }
        lag.push_back(seconds(committed)); // the agent has checked digest, header and footprint, and published
    }

    // The seed's pipe, same host, same kind of block: OpenSSH and btrfs-progs, no checks.
    std::string knownHosts = root + "/.streamchain/known_hosts";
    std::string pipeTarget = lab.replicaPath(0, "plain");
    mustRun({"mkdir", "-p", pipeTarget});
    auto heights = chain.heights();
    auto ssh = [&] {
        return bench::sshTo(lab.host(0).address, lab.clientKey(), knownHosts, {"btrfs", "receive", "-q", pipeTarget});
    };
    bench::runPipeline({{"btrfs", "send", "-q", chain.paths().block(heights.front())}, ssh()});
    std::vector<double> pipe;
    for (std::size_t i = 1; i < heights.size() && pipe.size() < 30; ++i)
        pipe.push_back(bench::runPipeline({{"btrfs", "send", "-q", "-p", chain.paths().block(heights[i - 1]),
                                            chain.paths().block(heights[i])},
                                           ssh()})
                           .seconds);
    // A 1 s poll finds a block 0.5 s (p50) to 0.99 s (p99) after it appears.
    double seedP50 = 0.5 + percentile(pipe, 50), seedP99 = 0.99 + percentile(pipe, 99);
    std::printf("%-46s %12s %12s %8s\n", "commit -> verified on replica (1 MB change)", "streamchain", "seed loop",
                "ratio");
    std::printf("%-46s %10.1f ms %10.1f ms %7.1fx\n", "lag p50", percentile(lag, 50) * 1000, seedP50 * 1000,
                seedP50 / percentile(lag, 50));
    std::printf("%-46s %10.1f ms %10.1f ms %7.1fx\n", "lag p99", percentile(lag, 99) * 1000, seedP99 * 1000,
                seedP99 / percentile(lag, 99));
    std::printf("%-46s %10.1f ms %10.1f ms\n", "transfer only p50 (no poll wait)", percentile(lag, 50) * 1000,
                percentile(pipe, 50) * 1000);
    std::printf("%-46s %10.1f ms\n", "commit p50 (snapshot + footprint + sign)", percentile(commitTime, 50) * 1000);
    std::printf("(%d blocks; seed: %zu pipes measured, poll wait added as 0.5 s p50 / 0.99 s p99; streamchain's\n"
                " figure includes the replica's digest, header, signature and footprint checks)\n",
                blocks, pipe.size());
    return 0;
}
