#include "app/cli/commands.h"
#include "app/cli/output.h"
#include "core/ledger/chain.h"
#include "core/messages/block_messages.h"

#include <cstdio>

namespace cli {

void addInitCommand(CLI::App& app, Handler& run) {
    auto* cmd = app.add_subcommand("init", "Create a chain: working subvolume data/, genesis block, Ed25519 key.\n"
                                           "CHAIN must be a new or empty directory on btrfs.");
    struct Options {
        std::string chain, name, hash = "sha256";
        std::uint32_t footprintFormat = sc::kNewestFootprintFormat;
        bool json = false;
    };
    auto options = std::make_shared<Options>();
    cmd->add_option("CHAIN", options->chain, "Directory for the new chain")->required();
    cmd->add_option("--name", options->name, "Chain name (default: the directory name)");
    cmd->add_option("--hash", options->hash, "Hash algorithm: sha256 (default) or blake2b512");
    cmd->add_option("--footprint-format", options->footprintFormat,
                    "Footprint format: 2 (default: files hashed in 1 MiB chunks, so a small change in a large "
                    "file costs the change) or 1 (each file hashed whole, as streamchain 0.x did)")
        ->check(CLI::IsMember({1, 2}));
    cmd->add_flag("--json", options->json, "Print the result as JSON");
    cmd->callback([&run, options] {
        run = [options] {
            sc::Chain chain = sc::Chain::init(options->chain, {options->name, options->hash, options->footprintFormat});
            sc::BlockHeader genesis = chain.header(0);
            if (options->json) {
                printJson(sc::chainCreatedJson(chain.paths().root, chain.identity(), genesis));
            } else {
                std::printf("initialised %s\n  id %s\n  key %s\n  genesis %s\n", chain.label().c_str(),
                            chain.identity().id.c_str(), chain.identity().publicKey.c_str(),
                            shortHash(genesis.hash().hex()).c_str());
            }
            return 0;
        };
    });
}

} // namespace cli
