#include "app/cli/commands.h"
#include "app/cli/output.h"
#include "app/cli/target_options.h"
#include "core/base/error.h"
#include "core/ledger/chain.h"
#include "core/messages/send_messages.h"
#include "core/messages/wire_names.h"
#include "core/replication/send_blocks.h"

#include <atomic>
#include <csignal>
#include <cstdio>

namespace cli {

namespace {

std::atomic<bool> interrupted{false};
void onInterrupt(int) { interrupted = true; }

std::string progressText(const sc::SendEvent& event) {
    const sc::TransferProgress& p = event.progress;
    std::string text = "block " + std::to_string(event.height) + " (" + std::to_string(event.step) + "/" +
                       std::to_string(event.steps) + ")  " + sc::formatBytes(p.bytesDone);
    if (p.bytesTotal)
        text += " / " + sc::formatBytes(p.bytesTotal) + " (" +
                std::to_string(std::min<std::uint64_t>(100, p.bytesDone * 100 / p.bytesTotal)) + "%)";
    text += "  " + sc::formatRate(p.rate) + "  ETA " + sc::formatDuration(p.etaSeconds);
    return text;
}

std::uint64_t parseSize(const std::string& text, const std::string& option) {
    std::size_t used = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(text, &used);
    } catch (const std::exception&) {
        throw sc::Error(option + ": \"" + text + "\" is not a size (e.g. 64M)", sc::ExitCode::Usage);
    }
    std::string unit = text.substr(used);
    int shift = unit.empty() ? 0 : unit == "K" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : -1;
    if (shift < 0)
        throw sc::Error(option + ": unknown unit \"" + unit + "\" (use K, M or G)", sc::ExitCode::Usage);
    return static_cast<std::uint64_t>(value) << shift;
}

} // namespace

void addSendCommand(CLI::App& app, Handler& run) {
    auto* cmd = app.add_subcommand(
        "send", "Bring each target up to date, block by block: incremental from the newest block both sides hold\n"
                "(matched by btrfs UUID) unless --full. Several --to targets share one send (fan-out).\n"
                "Exit 0 if every target is up to date, 5 if some failed, 1 if all failed.");
    struct Options {
        std::string chain, compress = "none";
        std::vector<std::string> targets;
        bool full = false, json = false;
        std::int64_t upto = -1;
        int threads = 0;
        unsigned protocol = 2;
        std::string spoolMin = "64M", spoolMaxRate = "50M";
        ReachOptions reach;
    };
    auto options = std::make_shared<Options>();
    cmd->add_option("CHAIN", options->chain, "The chain directory")->required();
    cmd->add_option("--to", options->targets,
                    "Target: a registered replica name, local:/path, /path or ssh://[user@]host[:port]/path "
                    "(repeatable)")
        ->required()
        ->allow_extra_args(false);
    cmd->add_flag("--full", options->full, "Send full streams, never incremental");
    cmd->add_option("--compress", options->compress, "none, zstd or zstd:LEVEL (1-19); compressed once for all");
    cmd->add_option("--threads", options->threads, "zstd worker threads (0 = single-threaded in the caller)");
    cmd->add_option("--upto", options->upto, "Send blocks up to this height (default: the tip)");
    cmd->add_option("--protocol", options->protocol, "btrfs send protocol version: 2 (default) keeps holes as holes; 1 for old receivers")
        ->check(CLI::Range(1, 2));
    cmd->add_option("--spool-min", options->spoolMin,
                    "Remote replicas spool streams of at least this size (e.g. 64M) so a broken transfer resumes");
    cmd->add_option("--spool-max-rate", options->spoolMaxRate,
                    "Replicas stop spooling at the first 32 MiB the link delivers faster than this many bytes/s "
                    "(default 50M, about 400 Mbit/s; 0: always spool): a fast link sends the rest again sooner "
                    "than spooling costs");
    addReachOptions(cmd, options->reach);
    cmd->add_flag("--json", options->json, "JSON events on stdout instead of a progress line");
    cmd->callback([&run, options] {
        run = [options] {
            sc::SendRequest request;
            request.spoolMinBytes = parseSize(options->spoolMin, "--spool-min");
            request.spoolMaxRate = static_cast<double>(parseSize(options->spoolMaxRate, "--spool-max-rate"));
            request.full = options->full;
            request.compression = sc::parseCompressionSpec(options->compress);
            request.compression.threads = options->threads;
            if (options->upto >= 0)
                request.upto = static_cast<std::uint64_t>(options->upto);
            request.protocol = options->protocol;
            sc::Chain chain = sc::Chain::open(options->chain);
            request.targets = resolveTargets(chain, options->targets, options->reach);

            std::signal(SIGINT, onInterrupt);
            std::signal(SIGTERM, onInterrupt);
            StatusLine status;
            auto onEvent = [&](const sc::SendEvent& event) {
                if (options->json) {
                    printJson(sc::sendEventJson(event));
                    return;
                }
                using K = sc::SendEvent::Kind;
                switch (event.kind) {
                case K::Progress:
                case K::BlockStarted:
                    status.show(progressText(event));
                    break;
                case K::TargetFailed:
                    status.clear();
                    std::fprintf(stderr, "streamchain: target failed: %s\n", event.error.c_str());
                    break;
                default:
                    break;
                }
            };
            sc::SendReport report = sc::sendBlocks(chain, request, onEvent, &interrupted);
            status.clear();
            if (options->json) {
                nlohmann::json summary = sc::sendReportJson(report);
                summary[sc::wire::kEvent] = sc::wire::kSendSummary;
                printJson(summary);
            } else {
                for (const auto& target : report.targets)
                        std::printf("%-40s %s%s\n", target.target.c_str(),
                                target.ok ? (std::to_string(target.blocksReceived) + " block(s) received, up to date")
                                                .c_str()
                                          : ("FAILED: " + target.error).c_str(),
                                target.resumedBytes ? (" (resumed: " + sc::formatBytes(target.resumedBytes) +
                                                       " were already on the replica)").c_str()
                                                    : "");
                std::printf("%zu stream(s), %s raw, %s on the wire, %.2f s\n", report.steps,
                            sc::formatBytes(report.rawBytes).c_str(), sc::formatBytes(report.wireBytes).c_str(),
                            report.seconds);
            }
            if (report.allOk())
                return 0;
            return static_cast<int>(report.anyOk() ? sc::ExitCode::PartialFailure : sc::ExitCode::Failure);
        };
    });
}

} // namespace cli
