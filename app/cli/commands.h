#pragma once
// Each CLI command registers its options and a handler that returns the exit code.
#include <CLI/CLI.hpp>
#include <functional>

namespace cli {

using Handler = std::function<int()>;

void addInitCommand(CLI::App& app, Handler& run);
void addCommitCommand(CLI::App& app, Handler& run);
void addLogCommands(CLI::App& app, Handler& run); // log, show, history
void addVerifyCommand(CLI::App& app, Handler& run);
void addSendCommand(CLI::App& app, Handler& run);
void addAgentCommand(CLI::App& app, Handler& run);
void addDaemonCommands(CLI::App& app, Handler& run); // daemon, status
void addReplicaCommands(CLI::App& app, Handler& run); // replica add, list, relay-key, remove
void addLabCommands(CLI::App& app, Handler& run);     // lab up, down, workload

} // namespace cli
