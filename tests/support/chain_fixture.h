#pragma once
// A chain on its own loop-mounted btrfs image, driven through the real CLI.
#include <nlohmann/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "tests/support/btrfs_fixture.h"

namespace sctest {

class ChainFixture {
public:
    // `initOptions` go to `streamchain init` (e.g. --footprint-format 1).
    explicit ChainFixture(unsigned sizeMiB = 768, const std::string& name = "ledger",
                          const std::vector<std::string>& initOptions = {});
    const std::string& root() const { return root_; }
    std::string data(const std::string& relative = {}) const;
    std::string block(std::uint64_t height) const;
    BtrfsImage& image() { return image_; }

    // streamchain commit ... --json; fails the test setup (throws) if the commit fails.
    nlohmann::json commit(const std::string& message, const std::vector<std::string>& extra = {});
    std::vector<std::string> stagingEntries() const;
    std::vector<std::string> blockNames() const;

private:
    BtrfsImage image_;
    std::string root_;
};

// Entry names in a directory, sorted; empty if it does not exist.
std::vector<std::string> namesIn(const std::string& dir);
std::uintmax_t bytesUnder(const std::string& dir); // regular files' sizes, recursively
// Waits until the files below `dir` hold at least `bytes` (a transfer under way); false after `seconds`.
bool waitForBytesUnder(const std::string& dir, std::uintmax_t bytes, double seconds = 30);
inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Parse every line of `text` as JSON.
std::vector<nlohmann::json> jsonLines(const std::string& text);
// The `--json` lines of a command's output whose "event" is `kind`.
std::vector<nlohmann::json> eventsOf(const CommandResult& result, const std::string& kind);
// `verify --replica --json` output: height -> MATCH / MISMATCH / MISSING / FOREIGN.
std::map<int, std::string> replicaStates(const CommandResult& result);

// Files with every kind of awkward name and metadata a footprint must survive.
void populateAwkwardTree(const std::string& dir);

} // namespace sctest
