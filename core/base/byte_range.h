#pragma once
// A byte range of a file whose contents may have changed.
#include <cstdint>

namespace sc {

struct ByteRange {
    std::uint64_t offset = 0, length = 0;
    std::uint64_t end() const { return offset + length; }
    bool operator==(const ByteRange&) const = default;
};

} // namespace sc
