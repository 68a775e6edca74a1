#pragma once
// The processes a test started indirectly (sshd's session children, the btrfs receive
// a send spawned), found through /proc, so a test can kill exactly those.
#include <set>
#include <string>
#include <sys/types.h>

namespace sctest {

std::set<pid_t> descendantsOf(pid_t root); // every process whose parent chain leads to root (not root)
std::string commandNameOf(pid_t pid);     // /proc/<pid>/comm, "" once it is gone

} // namespace sctest
