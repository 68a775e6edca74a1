#pragma once
// Runs what peers do: a pipeline of programs (argv vectors joined by pipes, like
// `btrfs send | ssh host btrfs receive`, but never through a local shell), timed,
// with the CPU time of every process in it.
#include <functional>
#include <string>
#include <vector>

namespace bench {

struct PipelineResult {
    double seconds = 0;    // wall time from the first start to the last exit
    double cpuSeconds = 0; // user + system of every process in the pipeline (this machine)
};

using Argv = std::vector<std::string>;

// Throws std::runtime_error naming the stage that failed (non-zero exit).
PipelineResult runPipeline(const std::vector<Argv>& stages);
// Several pipelines at once (fan-out by hand): wall time of all, CPU of all.
PipelineResult runConcurrently(const std::vector<std::vector<Argv>>& pipelines);

// `ours` and `peer` run `rounds` times each in ABBA order (ours, peer, peer, ours, ...), so a
// drift in the machine's state (writeback, a noisy neighbour) hits both alike; each figure is
// the median of its runs. `round` counts from 0. `beforeEach` (untimed) puts the machine in
// the same state before every run.
struct PairedResult {
    PipelineResult ours, peer;                         // the medians
    std::vector<double> oursSeconds, peerSeconds;      // every run, in the order run
    std::string runsNote() const; // "median of 3 runs each, ...; runs: ours 14.2/15.9/14.7 s, peer ..."
};
PairedResult runPaired(int rounds, const std::function<PipelineResult(int round)>& ours,
                       const std::function<PipelineResult(int round)>& peer,
                       const std::function<void()>& beforeEach = {});

// sync, then drop the clean page cache, dentries and inodes (all of the machine's).
void dropPageCache();

// OpenSSH as every peer uses it: the lab's client key, our pinned host keys, no prompts.
Argv sshClient(const std::string& key, const std::string& knownHosts);
// `ssh` to a lab host running `remoteCommand`, a command line already quoted for the remote shell.
Argv sshTo(const std::string& address, const std::string& key, const std::string& knownHosts,
           const std::string& remoteCommand);
// The same with `remote` quoted word by word.
Argv sshTo(const std::string& address, const std::string& key, const std::string& knownHosts, const Argv& remote);

} // namespace bench
