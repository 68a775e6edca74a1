// log, show and history: reading the chain.
#include "app/cli/commands.h"
#include "app/cli/output.h"
#include "core/base/error.h"
#include "core/ledger/block_changes.h"
#include "core/ledger/chain.h"
#include "core/messages/block_messages.h"
#include "core/messages/wire_names.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace cli {

namespace {

std::uint64_t parseHeight(const sc::Chain& chain, const std::string& text) {
    std::uint64_t height = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), height);
    if (ec != std::errc() || end != text.data() + text.size())
        throw sc::Error("'" + text + "' is not a block height", sc::ExitCode::Usage);
    auto heights = chain.heights();
    if (!std::binary_search(heights.begin(), heights.end(), height))
        throw sc::Error(chain.label() + " has no block " + text, sc::ExitCode::Usage);
    return height;
}

std::string operationsSummary(const nlohmann::json& operations) {
    if (operations.empty())
        return "";
    return " [" + std::to_string(operations.size()) + " op" + (operations.size() == 1 ? "" : "s") + "]";
}

} // namespace

void addLogCommands(CLI::App& app, Handler& run) {
    struct Options {
        std::string chain, height, element;
        bool json = false, changes = false;
        std::size_t limit = 0;
    };
    auto options = std::make_shared<Options>();

    auto* log = app.add_subcommand("log", "List the chain's blocks, newest first.");
    log->add_option("CHAIN", options->chain, "The chain directory")->required();
    log->add_option("-n,--limit", options->limit, "Show at most N blocks");
    log->add_flag("--json", options->json, "One JSON header per line");
    log->callback([&run, options] {
        run = [options] {
            sc::Chain chain = sc::Chain::open(options->chain);
            auto heights = chain.heights();
            std::reverse(heights.begin(), heights.end());
            if (options->limit && heights.size() > options->limit)
                heights.resize(options->limit);
            for (auto height : heights) {
                sc::BlockHeader header = chain.header(height);
                if (options->json) {
                    printJson(sc::blockHeaderJson(header));
                } else {
                    std::printf("%6llu  %s  %s  %s%s\n", static_cast<unsigned long long>(height),
                                shortHash(header.hash().hex()).c_str(), header.timestamp.c_str(),
                                header.message.c_str(), operationsSummary(header.operations).c_str());
                }
            }
            return 0;
        };
    });

    auto* show = app.add_subcommand("show", "Show one block's header and, with --changes, the paths it changed.");
    show->add_option("CHAIN", options->chain, "The chain directory")->required();
    show->add_option("HEIGHT", options->height, "Block height")->required();
    show->add_flag("--changes", options->changes, "List changed paths (the kernel's diff against the parent)");
    show->add_flag("--json", options->json, "Print as JSON");
    show->callback([&run, options] {
        run = [options] {
            sc::Chain chain = sc::Chain::open(options->chain);
            std::uint64_t height = parseHeight(chain, options->height);
            sc::BlockHeader header = chain.header(height);
            bool signatureOk = header.signatureValid(chain.identity().publicKey);
            std::vector<sc::PathChange> changes;
            if (options->changes)
                changes = sc::blockChanges(chain, height);
            if (options->json) {
                nlohmann::json out = sc::blockHeaderJson(header);
                out[sc::wire::kSignatureValid] = signatureOk;
                if (options->changes)
                    out[sc::wire::kChanges] = sc::blockChangesJson(changes);
                printJson(out);
                return 0;
            }
            std::printf("block %llu\n  hash        %s\n  previous    %s\n  content     %s (%s, footprint format %u)\n"
                        "  time        %s\n  message     %s\n  signature   %s\n"
                        "  contents    %llu files, %llu dirs, %llu symlinks, %llu bytes\n",
                        static_cast<unsigned long long>(height), header.hash().hex().c_str(),
                        header.previous.empty() ? "(genesis)" : header.previous.c_str(), header.contentRoot.c_str(),
                        header.hashAlgorithm.c_str(), header.footprintFormat, header.timestamp.c_str(),
                        header.message.c_str(),
                        signatureOk ? "valid" : "INVALID",
                        static_cast<unsigned long long>(header.counts.files),
                        static_cast<unsigned long long>(header.counts.directories),
                        static_cast<unsigned long long>(header.counts.symlinks),
                        static_cast<unsigned long long>(header.counts.bytes));
            for (const auto& op : header.operations)
                std::printf("  op          %s\n", op.dump().c_str());
            if (options->changes) {
                std::printf("  changes     %zu\n", changes.size());
                for (const auto& change : changes)
                    std::printf("    %-8s %s\n", sc::pathChangeKindName(change.kind), showPath(change.path).c_str());
            }
            return signatureOk ? 0 : static_cast<int>(sc::ExitCode::VerifyFailed);
        };
    });

    auto* history = app.add_subcommand("history", "The blocks and operations that touched one element.");
    history->add_option("CHAIN", options->chain, "The chain directory")->required();
    history->add_option("ELEMENT", options->element, "Element id, e.g. port:eth0")->required();
    history->add_flag("--json", options->json, "One JSON object per block");
    history->callback([&run, options] {
        run = [options] {
            sc::Chain chain = sc::Chain::open(options->chain);
            for (auto height : chain.heights()) {
                sc::BlockHeader header = chain.header(height);
                if (std::find(header.elements.begin(), header.elements.end(), options->element) ==
                    header.elements.end())
                    continue;
                // Operations that name the element; a block tagged with --element keeps them all.
                nlohmann::json ops = nlohmann::json::array();
                for (const auto& op : header.operations)
                    if (!op.contains(sc::wire::kElement) || op[sc::wire::kElement] == options->element)
                        ops.push_back(op);
                if (options->json) {
                    printJson(sc::blockHistoryJson(header, ops));
                } else {
                    std::printf("%6llu  %s  %s  %s\n", static_cast<unsigned long long>(height),
                                shortHash(header.hash().hex()).c_str(), header.timestamp.c_str(),
                                header.message.c_str());
                    for (const auto& op : ops)
                        std::printf("        %s\n", op.dump().c_str());
                }
            }
            return 0;
        };
    });
}

} // namespace cli
