#include "bench/pipeline.h"

#include "core/ssh/ssh_session.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bench {

namespace {

struct Started {
    std::vector<pid_t> pids;
    std::vector<std::string> names;
};

Started start(const std::vector<Argv>& stages) {
    Started started;
    int input = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (std::size_t i = 0; i < stages.size(); ++i) {
        int pipeFds[2] = {-1, -1};
        bool last = i + 1 == stages.size();
        if (!last && ::pipe2(pipeFds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
        pid_t pid = ::fork();
        if (pid == 0) {
            ::dup2(input, 0);
            int out = last ? ::open("/dev/null", O_WRONLY) : pipeFds[1];
            ::dup2(out, 1);
            std::vector<char*> args;
            for (const auto& a : stages[i])
                args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
        ::close(input);
        if (!last) {
            ::close(pipeFds[1]);
            input = pipeFds[0];
        }
        started.pids.push_back(pid);
        started.names.push_back(stages[i].front());
    }
    return started;
}

double finish(const Started& started) {
    double cpu = 0;
    std::string failed;
    for (std::size_t i = 0; i < started.pids.size(); ++i) {
        int status = 0;
        rusage usage{};
        ::wait4(started.pids[i], &status, 0, &usage);
        cpu += static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed = started.names[i];
    }
    if (!failed.empty())
        throw std::runtime_error("peer pipeline stage " + failed + " failed");
    return cpu;
}

} // namespace

PipelineResult runPipeline(const std::vector<Argv>& stages) { return runConcurrently({stages}); }

PipelineResult runConcurrently(const std::vector<std::vector<Argv>>& pipelines) {
    ::sync(); // what earlier runs left dirty is written back on nobody's clock
    auto begin = std::chrono::steady_clock::now();
    std::vector<Started> running;
    for (const auto& stages : pipelines)
        running.push_back(start(stages));
    PipelineResult result;
    for (const auto& started : running)
        result.cpuSeconds += finish(started);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return result;
}

std::string PairedResult::runsNote() const {
    auto list = [](const std::vector<double>& seconds) {
        std::string text;
        for (double s : seconds) {
            char figure[32];
            std::snprintf(figure, sizeof figure, "%s%.3g", text.empty() ? "" : "/", s);
            text += figure;
        }
        return text;
    };
    return "median of " + std::to_string(oursSeconds.size()) +
           " runs each, alternating ours and the peer (ABBA), each from the same page cache; runs: ours " +
           list(oursSeconds) + " s, peer " + list(peerSeconds) + " s";
}

void dropPageCache() {
    ::sync();
    int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "3", 1) != 1) {
        if (fd >= 0)
            ::close(fd);
        throw std::runtime_error("cannot drop the page cache: " + std::string(std::strerror(errno)));
    }
    ::close(fd);
}

Argv sshClient(const std::string& key, const std::string& knownHosts) {
    return {"ssh", "-i", key, "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes", "-o",
            "BatchMode=yes"};
}

Argv sshTo(const std::string& address, const std::string& key, const std::string& knownHosts,
           const std::string& remoteCommand) {
    Argv argv = sshClient(key, knownHosts);
    argv.push_back("root@" + address);
    argv.push_back(remoteCommand);
    return argv;
}

Argv sshTo(const std::string& address, const std::string& key, const std::string& knownHosts, const Argv& remote) {
    return sshTo(address, key, knownHosts, sc::shellCommand(remote));
}

static PipelineResult medianOf(std::vector<PipelineResult> runs) {
    PipelineResult median;
    std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.seconds < b.seconds; });
    median.seconds = runs[runs.size() / 2].seconds;
    std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.cpuSeconds < b.cpuSeconds; });
    median.cpuSeconds = runs[runs.size() / 2].cpuSeconds;
    return median;
}

PairedResult runPaired(int rounds, const std::function<PipelineResult(int round)>& ours,
                       const std::function<PipelineResult(int round)>& peer, const std::function<void()>& beforeEach) {
    std::vector<PipelineResult> oursRuns, peerRuns;
    auto run = [&](const std::function<PipelineResult(int)>& contender, std::vector<PipelineResult>& runs, int round) {
        if (beforeEach)
            beforeEach();
        runs.push_back(contender(round));
    };
    for (int round = 0; round < rounds; ++round) {
        if (round % 2 == 0) {
            run(ours, oursRuns, round);
            run(peer, peerRuns, round);
        } else {
            run(peer, peerRuns, round);
            run(ours, oursRuns, round);
        }
    }
    PairedResult paired{medianOf(oursRuns), medianOf(peerRuns), {}, {}};
    for (const auto& r : oursRuns)
        paired.oursSeconds.push_back(r.seconds);
    for (const auto& r : peerRuns)
        paired.peerSeconds.push_back(r.seconds);
    return paired;
}

} // namespace bench
