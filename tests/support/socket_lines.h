#pragma once
// A test's side of a line-based Unix stream socket (the daemon's control socket):
// connect, send a line, read the next one with a deadline.
#include <string>

namespace sctest {

int connectToSocket(const std::string& path); // a connected fd, or -1
void sendLine(int fd, const std::string& line); // adds the newline
// The next line out of `buffer` (refilled from fd), or "" on EOF or after `seconds`.
std::string readLine(int fd, std::string& buffer, double seconds = 5);

} // namespace sctest
