#pragma once
// Turning the working subvolume into the next signed, read-only block.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/ledger/block_header.h"

namespace sc {

class Chain;

struct CommitRequest {
    std::string message;
    nlohmann::json operations = nlohmann::json::array(); // array of objects
    std::vector<std::string> elements;                   // elements this block touches
};

struct CommitResult {
    BlockHeader header;
    bool incrementalFootprint = false; // reused the parent's digests
    std::uint64_t filesHashed = 0;
    std::uint64_t bytesHashed = 0;
    std::uint64_t entriesReused = 0;
    double seconds = 0;
};

// Throws sc::Error(ExitCode::Usage) for malformed operations before touching anything.
void validateCommitRequest(const CommitRequest& request);

// Takes the chain lock, cleans up leftovers of a killed commit, snapshots data/,
// computes the footprint (incrementally from the parent's cache when it can), signs
// and writes the header, and only then makes the block visible under blocks/.
CommitResult commitBlock(const Chain& chain, const CommitRequest& request);

} // namespace sc
