#include "app/cli/commands.h"
#include "core/agent/agent_server.h"

#include <unistd.h>

namespace cli {

void addAgentCommand(CLI::App& app, Handler& run) {
    auto* cmd = app.add_subcommand(
        "agent", "Serve the replica at --root over stdin/stdout (started over SSH by a sender; not for people).\n"
                 "Speaks only the framed agent protocol (docs/agent-protocol.md) and touches nothing outside --root.");
    auto root = std::make_shared<std::string>();
    cmd->add_option("--root", *root, "The replica directory (absolute path)")->required();
    cmd->callback([&run, root] { run = [root] { return sc::runAgent(*root, STDIN_FILENO, STDOUT_FILENO); }; });
}

} // namespace cli
