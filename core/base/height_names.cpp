#include "core/base/height_names.h"

#include <algorithm>
#include <cstdio>

namespace sc {

std::string heightName(std::uint64_t height) {
    char name[32];
    std::snprintf(name, sizeof name, "%012llu", static_cast<unsigned long long>(height));
    return name;
}

bool parseHeightName(const std::string& name, std::uint64_t& height) {
    if (name.size() != 12 || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    height = std::stoull(name);
    return true;
}

} // namespace sc
