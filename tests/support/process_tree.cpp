#include "tests/support/process_tree.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace sctest {

std::set<pid_t> descendantsOf(pid_t root) {
    std::map<pid_t, pid_t> parentOf;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        auto close = line.rfind(')');
        if (close == std::string::npos)
            continue;
        std::istringstream rest(line.substr(close + 2));
        char state;
        pid_t parent;
        rest >> state >> parent;
        parentOf[std::stoi(name)] = parent;
    }
    std::set<pid_t> found{root};
    for (bool grew = true; grew;) {
        grew = false;
        for (const auto& [pid, parent] : parentOf)
            if (found.count(parent) && !found.count(pid)) {
                found.insert(pid);
                grew = true;
            }
    }
    found.erase(root);
    return found;
}

std::string commandNameOf(pid_t pid) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(comm, name);
    return name;
}

} // namespace sctest
