#pragma once
// `streamchain agent --root PATH`: the replica side of the agent protocol, run
// over SSH with the protocol on stdin/stdout. It serves one sender, touches
// nothing outside its replica root, and accepts nothing but protocol frames.
#include <string>

namespace sc {

// Serves until the sender says bye or closes the connection; returns the exit code.
int runAgent(const std::string& root, int inputFd, int outputFd);

} // namespace sc
