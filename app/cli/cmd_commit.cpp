#include "app/cli/commands.h"
#include "app/cli/output.h"
#include "core/base/error.h"
#include "core/ledger/chain.h"
#include "core/ledger/commit.h"
#include "core/messages/block_messages.h"

#include <cstdio>

namespace cli {

void addCommitCommand(CLI::App& app, Handler& run) {
    auto* cmd = app.add_subcommand("commit", "Turn the current data/ into the next signed, read-only block.");
    struct Options {
        std::string chain, message;
        std::vector<std::string> operations, elements;
        bool json = false;
    };
    auto options = std::make_shared<Options>();
    cmd->add_option("CHAIN", options->chain, "The chain directory")->required();
    cmd->add_option("-m,--message", options->message, "What this block is about");
    cmd->add_option("--op", options->operations,
                    "An operation as a JSON object, e.g. '{\"op\":\"set\",\"element\":\"port:eth0\"}' (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--element", options->elements, "An element this block touches, e.g. port:eth0 (repeatable)")
        ->allow_extra_args(false);
    cmd->add_flag("--json", options->json, "Print the new header as JSON");
    cmd->callback([&run, options] {
        run = [options] {
            sc::CommitRequest request;
            request.message = options->message;
            for (std::size_t i = 0; i < options->operations.size(); ++i) {
                auto op = nlohmann::json::parse(options->operations[i], nullptr, false);
                if (op.is_discarded())
                    throw sc::Error("--op " + std::to_string(i + 1) + " is not valid JSON: " + options->operations[i],
                                    sc::ExitCode::Usage);
                request.operations.push_back(op);
            }
            request.elements = options->elements;
            sc::validateCommitRequest(request); // before opening anything: bad input changes nothing
            sc::Chain chain = sc::Chain::open(options->chain);
            sc::CommitResult result = sc::commitBlock(chain, request);
            if (options->json) {
                printJson(sc::commitResultJson(result));
            } else {
                std::printf("block %llu %s  %s\n", static_cast<unsigned long long>(result.header.height),
                            shortHash(result.header.hash().hex()).c_str(), result.header.message.c_str());
            }
            return 0;
        };
    });
}

} // namespace cli
