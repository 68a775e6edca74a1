#pragma once
// The order a depth-first walk with byte-sorted names meets paths: a directory, then
// everything below it, then its next sibling ("a" < "a/b" < "a-c"). Footprint records
// keep their entries in this order, so the next block's walk reads its parent's record
// front to back, once, instead of holding it whole.
#include <string_view>

namespace sc {

// True when `a` comes before `b` in walk order; a name never holds '/' or NUL.
inline bool walkOrderLess(std::string_view a, std::string_view b) {
    const std::size_t common = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < common; ++i) {
        if (a[i] == b[i])
            continue;
        auto rank = [](char c) { return c == '/' ? 0 : static_cast<unsigned char>(c) + 1; };
        return rank(a[i]) < rank(b[i]);
    }
    return a.size() < b.size();
}

// `path` is `dir` or lies below it ("" is the root, above everything).
inline bool isAtOrBelow(std::string_view path, std::string_view dir) {
    if (dir.empty())
        return true;
    return path.size() >= dir.size() && path.substr(0, dir.size()) == dir &&
           (path.size() == dir.size() || path[dir.size()] == '/');
}

} // namespace sc
