#pragma once
// Blocks are directories named by height, everywhere: the chain, replicas, spools and
// footprint records. Zero-padded to 12 digits, so names sort as heights do.
#include <cstdint>
#include <string>

namespace sc {

std::string heightName(std::uint64_t height);
bool parseHeightName(const std::string& name, std::uint64_t& height); // false unless exactly 12 digits

} // namespace sc
