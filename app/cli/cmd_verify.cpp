#include "app/cli/commands.h"
#include "app/cli/output.h"
#include "app/cli/target_options.h"
#include "core/base/error.h"
#include "core/endpoints/endpoint_pool.h"
#include "core/endpoints/replica_endpoint.h"
#include "core/ledger/chain.h"
#include "core/ledger/chain_verify.h"
#include "core/messages/verify_messages.h"
#include "core/replication/replica_verify.h"

#include <cstdio>

namespace cli {

namespace {

int verifyChainCommand(const sc::Chain& chain, bool deep, bool json) {
    StatusLine status;
    sc::ChainVerifyReport report = sc::verifyChain(chain, deep, [&](std::uint64_t height) {
        status.show("verifying block " + std::to_string(height) + (deep ? " (deep)" : ""));
    });
    status.clear();
    if (json) {
        printJson(sc::chainVerifyJson(chain.paths().root, deep, report));
    } else {
        for (const auto& f : report.findings) {
            std::printf("BAD block %llu: %s\n", static_cast<unsigned long long>(f.height), f.problem.c_str());
            for (const auto& p : f.paths)
                std::printf("    %s\n", showPath(p).c_str());
            if (!f.advice.empty())
                std::printf("    what to do: %s\n", f.advice.c_str());
        }
        std::printf("%s: %llu blocks, %s%s\n", chain.label().c_str(),
                    static_cast<unsigned long long>(report.blocksChecked),
                    report.ok() ? "all links, heights and signatures valid" : "VERIFICATION FAILED",
                    report.ok() && deep ? ", contents match their footprints" : "");
    }
    return report.ok() ? 0 : static_cast<int>(sc::ExitCode::VerifyFailed);
}

int verifyReplicaCommand(const sc::Chain& chain, const sc::TargetRef& ref, bool json) {
    StatusLine status;
    const std::string& target = ref.spec.text;
    status.show("connecting to " + target);
    sc::EndpointPool pool(chain.identity());
    sc::ReplicaEndpoint& endpoint = pool.get(ref);
    status.show("verifying " + target);
    sc::ReplicaVerifyReport report = sc::verifyReplica(chain, endpoint, [&](const sc::ReplicaBlockVerdict& verdict) {
        status.clear();
        if (json) {
            printJson(sc::blockVerdictJson(target, verdict));
            return;
        }
        std::printf("%6llu  %-8s %s\n", static_cast<unsigned long long>(verdict.height),
                    sc::replicaBlockStateName(verdict.state), verdict.detail.c_str());
        for (const auto& p : verdict.paths)
            std::printf("          %s\n", showPath(p).c_str());
        std::fflush(stdout);
    });
    if (json) {
        printJson(sc::replicaVerifyResultJson(target, report));
        return report.allMatch() ? 0 : static_cast<int>(sc::ExitCode::VerifyFailed);
    }
    using S = sc::ReplicaBlockState;
    std::string summary = std::to_string(report.count(S::Match)) + " match, " +
                          std::to_string(report.count(S::Mismatch)) + " mismatch, " +
                          std::to_string(report.count(S::Missing)) + " missing, " +
                          (report.count(S::Unhashed) ? std::to_string(report.count(S::Unhashed)) +
                                                           " not re-hashed (plain mode), "
                                                     : std::string()) +
                          std::to_string(report.count(S::Foreign)) + " foreign";
    std::printf("replica %s: %s\n", target.c_str(), summary.c_str());
    return report.allMatch() ? 0 : static_cast<int>(sc::ExitCode::VerifyFailed);
}

} // namespace

void addVerifyCommand(CLI::App& app, Handler& run) {
    auto* cmd = app.add_subcommand(
        "verify", "Check every link, height and signature of the chain; --deep re-hashes every block's contents;\n"
                  "--replica checks each block on a replica: MATCH, MISMATCH (with paths), MISSING or FOREIGN.\n"
                  "Exit 0 only if everything holds (4 otherwise).");
    struct Options {
        std::string chain;
        std::vector<std::string> replicas;
        bool deep = false, json = false;
        ReachOptions reach;
    };
    auto options = std::make_shared<Options>();
    cmd->add_option("CHAIN", options->chain, "The chain directory")->required();
    cmd->add_flag("--deep", options->deep, "Also re-hash every block's contents against its signed footprint");
    cmd->add_option("--replica", options->replicas,
                    "Verify this replica: a registered name, local:/path, /path or ssh://... (repeatable)")
        ->allow_extra_args(false);
    addReachOptions(cmd, options->reach);
    cmd->add_flag("--json", options->json, "JSON lines instead of text");
    cmd->callback([&run, options] {
        run = [options] {
            sc::Chain chain = sc::Chain::open(options->chain);
            if (options->replicas.empty())
                return verifyChainCommand(chain, options->deep, options->json);
            int worst = 0;
            for (const auto& ref : resolveTargets(chain, options->replicas, options->reach)) {
                int code = verifyReplicaCommand(chain, ref, options->json);
                worst = code != 0 ? code : worst;
            }
            return worst;
        };
    });
}

} // namespace cli
