#include "app/cli/commands.h"
#include "app/cli/lab_world.h"
#include "core/base/error.h"

#include <cstdio>

namespace cli {

void addLabCommands(CLI::App& app, Handler& run) {
    auto options = std::make_shared<LabOptions>();
    auto* lab = app.add_subcommand(
        "lab", "A self-contained demo world on this machine (root): a primary chain on a loop image, replica\n"
               "hosts r1, r2, r3 in network namespaces with sshd and their own btrfs (r3 fed by r2 as a relay),\n"
               "a daemon and a workload committing a block every few seconds.");
    lab->require_subcommand(1);
    auto say = [](const std::string& line) {
        std::printf("lab: %s\n", line.c_str());
        std::fflush(stdout);
    };

    auto* up = lab->add_subcommand("up", "Build the lab and start it; `lab down` removes every trace");
    up->add_option("--dir", options->dir, "Where the lab keeps its images, keys and state");
    up->add_option("--socket", options->socket, "The daemon's control socket");
    up->add_option("--name", options->name, "Prefix of the lab's network namespaces and links");
    up->add_option("--interval", options->interval, "Seconds between workload blocks")->check(CLI::Range(0.2, 3600.0));
    up->add_option("--metrics-port", options->metricsPort, "The daemon's loopback metrics port");
    up->callback([&run, options, say] {
        run = [options, say] {
            LabWorld world(*options, say);
            try {
                world.up();
            } catch (const sc::Error& e) {
                say("failed: " + std::string(e.what()) + "; removing what was built");
                world.down();
                throw;
            }
            say("up. Console: streamchain-console --socket " + options->socket +
                "; live status: streamchain status --watch --socket " + options->socket +
                "; remove: streamchain lab down");
            return 0;
        };
    });

    auto* down = lab->add_subcommand("down", "Stop the lab and remove its namespaces, mounts, images and state");
    down->add_option("--dir", options->dir, "Where the lab keeps its images, keys and state");
    down->callback([&run, options, say] {
        run = [options, say] {
            LabWorld(*options, say).down(); // names come from the lab's state file
            return 0;
        };
    });

    auto workload = std::make_shared<std::string>();
    auto* work = lab->add_subcommand("workload", "Commit a realistic block through the daemon every few seconds");
    work->add_option("CHAIN", *workload, "The chain directory")->required();
    work->add_option("--socket", options->socket, "The daemon's control socket");
    work->add_option("--interval", options->interval, "Seconds between blocks")->check(CLI::Range(0.2, 3600.0));
    work->callback([&run, options, workload] {
        run = [options, workload] { return runLabWorkload(*workload, options->socket, options->interval); };
    });
}

} // namespace cli
