#pragma once
// Whole small files: written atomically (a crash leaves the old or the new contents,
// never a mix) and read with a size limit, so a hostile or damaged file cannot make us
// allocate without bound.
#include <cstddef>
#include <string>

namespace sc {

// Write a small file atomically (temp file in the same directory, fsync, rename).
void writeFileAtomically(const std::string& path, const std::string& contents, unsigned mode = 0644);
std::string readSmallFile(const std::string& path, std::size_t limit = 16u << 20);
// Everything left to read from fd; throws sc::Error naming `what` past `limit` bytes.
std::string readAllFrom(int fd, const std::string& what, std::size_t limit);

} // namespace sc
