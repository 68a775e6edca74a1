#pragma once
// Every benchmark scenario of bench/run, on one dataset, one primary chain on a
// loop image and three namespace hosts with sshd, streamchain and its peers
// measured in the same run.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/dataset.h"
#include "bench/pipeline.h"
#include "bench/report.h"

namespace sctest {
class BtrfsImage;
class SshLab;
} // namespace sctest

namespace sc {
class Chain;
class EndpointPool;
struct SendReport;
} // namespace sc

namespace bench {

class Suite {
public:
    Suite(bool full, std::uint64_t seed, std::uint32_t footprintFormat);
    ~Suite();
    // A scenario that breaks is recorded in failures and the rest go on. `only` picks scenarios
    // by name (all when empty); later ones expect the earlier ones' replicas, so a lone
    // scenario may measure a different job (e.g. a full send instead of an incremental).
    Report run(const std::vector<std::string>& only = {});
    static std::string scenarioNames();

private:
    using Scenario = std::pair<std::string, std::function<void(Suite&)>>;
    static const std::vector<Scenario>& scenarios();
    void prepare();
    // Before every paired run: the page cache holds the dataset block and nothing else.
    void samePageCache();
    void localFull();
    void sshFull();
    void sshIncremental(double fraction, const std::string& label);
    PipelineResult btrbkRun(); // btrbk doing the same job, timed
    sc::SendReport sendOverKeptConnection(); // to host 0 as the daemon sends: over one connection kept open
    void compressedShaped();
    void fanOut();
    void relayChain();
    void catchUp();
    void lag();
    void commitRate();
    void footprintAndVerify();
    void daemonMemory();

    // A change inside one large file in data/, against the same bytes arriving as a new file
    // (bench/suite_large_files.cpp).
    struct LargeFileChange {
        std::string label;  // the rows' scenario words, sizes included
        std::string file;   // below data/
        std::uint64_t fileBytes = 0, changeBytes = 0;
        bool append = false; // else overwritten in place at a 4 KiB-aligned offset
    };
    struct ChangeTiming {
        double commitSeconds = 0, verifiedSeconds = 0; // commit; then commit -> verified on the kept replica
        std::uint64_t bytesHashed = 0;                 // by the commit's footprint
    };
    static std::uint64_t largeFilesBytes(bool full); // what both large-file scenarios add to data/
    void smallChangeInLargeFile();
    void appendToLargeLog();
    void measureLargeFileChange(const LargeFileChange& change);
    ChangeTiming commitAndReplicate(const std::string& message);
    PipelineResult rsyncDataTo(const std::string& replicaDir); // `rsync -a` of data/ to host 0

    std::string url(int host, const std::string& relative) const;
    std::vector<std::string> reach(int host) const; // --identity, --accept-host-key, --agent-path
    std::string block(std::uint64_t height) const;
    std::uint64_t commit(const std::string& message);
    void add(Row row);

    bool full_;
    std::uint32_t footprintFormat_;
    DatasetShape shape_;
    Report report_;
    std::unique_ptr<sctest::SshLab> lab_;
    std::unique_ptr<sctest::BtrfsImage> primary_, local_;
    std::unique_ptr<sc::Chain> chain_;
    std::unique_ptr<sc::EndpointPool> keptPool_;
    std::string knownHosts_;
    std::uint64_t datasetBlock_ = 1;
    double sshFullSeconds_ = 0;  // streamchain's single-replica figure, for the fan-out row
    double sshPipeSeconds_ = 0;  // one bare pipe's, to show what three at once cost this machine
};

} // namespace bench
