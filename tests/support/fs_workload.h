#pragma once
// A seeded generator of filesystem workloads for differential tests: each round
// applies a random batch of operations to the tree under a root (a chain's data/)
// and returns a readable log of what it did. The same root state, seed and calls
// replay the same operations, so a failure report of "seed S round R" reproduces
// (checked: two runs' logs agree but for mtimes set relative to an entry's own,
// which move with the clock: "now" or "earlier than now" is the point of those).
//
// Operations are dealt from a shuffled deck holding every kind once, so a few
// rounds cover them all; the tree is kept within its budgets (bytes, entries)
// and repopulated when it runs thin, so later rounds always find things to change.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/support/fs_workload_context.h"
#include "tests/support/fs_workload_operations.h"

namespace sctest {

class FsWorkload {
public:
    FsWorkload(std::string root, std::uint64_t seed, FsWorkloadOptions options = {});

    // `operations` operations, plus one write past 4 GiB into a sparse file if asked.
    std::vector<std::string> applyRound(std::size_t operations, bool withHugeSparseFile = false);

    // How often each kind of operation ran so far (a coverage report).
    const std::map<std::string, std::size_t>& operationCounts() const { return counts_; }
    std::vector<std::string> operationNames() const;

private:
    void keepWithinBudget();
    void replenish();
    std::size_t deal();

    WorkloadContext context_;
    std::vector<WorkloadOperation> operations_;
    std::vector<std::size_t> deck_;
    std::map<std::string, std::size_t> counts_;
};

} // namespace sctest
