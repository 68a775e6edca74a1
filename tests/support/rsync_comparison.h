#pragma once
// A check that two trees hold the same entries, contents and attributes which
// shares no code with streamchain: rsync in dry-run mode with checksums, hard
// links, ACLs, xattrs, owners, modes, times, devices and special files.
#include <string>
#include <vector>

namespace sctest {

struct TreeComparison {
    bool ran = false;                     // rsync ran to the end (exit 0)
    std::vector<std::string> differences; // one itemized line per entry that differs
    std::string error;                    // rsync's complaint when it did not run
    bool identical() const { return ran && differences.empty(); }
    std::string describe() const; // for failure messages
};

// Whether `actual` is a copy of `expected` (both directories).
TreeComparison compareTrees(const std::string& expected, const std::string& actual);

// The difference lines of `rsync -n --itemize-changes` output. With -n and one -i,
// rsync prints a line only for an entry it would change ("YXcstpoguax name", e.g.
// ">fc.t...... a" or ".d..t...... b/"), delete ("*deleting c") or create; anything
// else on stdout (a "skipping ..." notice) means something was not compared, so
// every non-empty line counts.
std::vector<std::string> itemizedDifferences(const std::string& rsyncOutput);

} // namespace sctest
