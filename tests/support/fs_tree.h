#pragma once
// A directory tree as a workload sees it right now: a walk in byte-sorted order
// (readdir order is not part of what a seed replays) and the path helpers that
// workload operations and their logs share.
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sctest {

struct FsEntry {
    std::string path; // relative to the walked root; "" is the root itself
    mode_t mode = 0;  // st_mode, type bits included
    std::uint64_t links = 0;
    std::uint64_t size = 0;
    std::uint64_t inode = 0; // compare for equality only (names of one file): numbers differ run to run

    bool isFile() const;
    bool isDirectory() const;
    bool isSymlink() const;
};

// The root first, then every entry below it, depth first, names sorted bytewise.
std::vector<FsEntry> listTree(const std::string& root);

// Removes `path` and, for a directory, everything below it. False (errno set) on failure.
bool removeTree(const std::string& path);

// A path as one log token: in single quotes, bytes outside printable ASCII as \xNN
// (\n stays \n), so a log line shows exactly which name an operation used.
std::string quotedPath(const std::string& path);

std::string parentOf(const std::string& relative); // "" for a top-level name
std::string joinPath(const std::string& dir, const std::string& name);
bool isWithin(const std::string& path, const std::string& dir); // path is dir or lies below it
std::string topLevelOf(const std::string& relative);             // its first component
const char* typeName(mode_t mode);                               // "file", "directory", ...

} // namespace sctest
