#pragma once
// File names a footprint, a send stream and rsync must all carry unchanged:
// spaces, quotes, newlines, bytes that are not UTF-8, leading dashes, shell and
// glob characters, and components of exactly 255 bytes (NAME_MAX).
#include <cstdint>
#include <random>
#include <string>

namespace sctest {

class AwkwardNames {
public:
    explicit AwkwardNames(std::mt19937_64& random) : random_(random) {}
    // A name not used before in this run, at most `maxBytes` long (>= 16).
    std::string next(std::size_t maxBytes = 255);

private:
    std::mt19937_64& random_;
    std::uint64_t counter_ = 0;
};

} // namespace sctest
