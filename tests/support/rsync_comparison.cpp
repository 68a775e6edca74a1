#include "tests/support/rsync_comparison.h"

#include <sstream>

#include "tests/support/btrfs_fixture.h"

namespace sctest {

std::vector<std::string> itemizedDifferences(const std::string& rsyncOutput) {
    std::vector<std::string> lines;
    std::istringstream in(rsyncOutput);
    std::string line;
    while (std::getline(in, line))
        if (line.find_first_not_of(" \t\r") != std::string::npos)
            lines.push_back(line);
    return lines;
}

TreeComparison compareTrees(const std::string& expected, const std::string& actual) {
    // -c: compare contents by checksum, not by size and mtime; -H -A -X: hard links,
    // ACLs, xattrs; -a: owners, modes, mtimes, symlinks, devices, specials; --delete:
    // entries only the copy has; --modify-window=-1: mtimes to the nanosecond (rsync
    // compares whole seconds otherwise, and footprints cover nanoseconds). Names are
    // escaped in the output (\#012 for a newline), so each difference is one line.
    CommandResult result = run({"rsync", "-naHAXc", "--modify-window=-1", "--delete", "--itemize-changes",
                                expected + "/", actual + "/"});
    TreeComparison comparison;
    comparison.ran = result.exitCode == 0;
    comparison.differences = itemizedDifferences(result.out);
    if (!comparison.ran)
        comparison.error = "rsync exit " + std::to_string(result.exitCode) + ": " + result.err;
    return comparison;
}

std::string TreeComparison::describe() const {
    std::string text = ran ? "" : error + "\n";
    for (const auto& line : differences)
        text += "    " + line + "\n";
    return text;
}

} // namespace sctest
