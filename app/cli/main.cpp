// streamchain: the command-line tool. Parsing and printing live here; the engine is core/.
#include "app/cli/commands.h"
#include "core/base/error.h"

#include <csignal>
#include <cstdio>

int main(int argc, char** argv) {
    // Writes to a receiver that died must fail with EPIPE, not kill us.
    std::signal(SIGPIPE, SIG_IGN);

    CLI::App app{"streamchain: btrfs snapshots as a signed, replicated ledger.\n"
                 "Exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 not a chain / not btrfs,\n"
                 "4 verification failed, 5 some targets failed, 6 chain busy.",
                 "streamchain"};
    app.set_version_flag("--version", std::string("streamchain ") + STREAMCHAIN_VERSION);
    app.require_subcommand(1);
    cli::Handler run;
    cli::addInitCommand(app, run);
    cli::addCommitCommand(app, run);
    cli::addLogCommands(app, run);
    cli::addVerifyCommand(app, run);
    cli::addSendCommand(app, run);
    cli::addReplicaCommands(app, run);
    cli::addDaemonCommands(app, run);
    cli::addAgentCommand(app, run);
    cli::addLabCommands(app, run);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : static_cast<int>(sc::ExitCode::Usage);
    }
    try {
        return run();
    } catch (const sc::Error& e) {
        std::fprintf(stderr, "streamchain: error: %s\n", e.what());
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "streamchain: error: %s\n", e.what());
        return static_cast<int>(sc::ExitCode::Failure);
    }
}
