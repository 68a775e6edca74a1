#include "tests/support/differential_settings.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <type_traits>

namespace sctest {

namespace {

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr,
                 "%s\noptions before Qt Test's own: --seed S|random  --seeds K  --rounds N  --operations N  "
                 "--no-hard-links  --no-setid-after-chown  --no-large-xattr-changes  --huge-sparse-every N  "
                 "--footprint-format 1|2\n(or STREAMCHAIN_DIFF_SEED, _SEEDS, _ROUNDS, _OPERATIONS, _HARD_LINKS=0, "
                 "_SETID_AFTER_CHOWN=0, _LARGE_XATTR_CHANGES=0, _HUGE_SPARSE_EVERY, _FOOTPRINT_FORMAT)\n",
                 problem.c_str());
    std::exit(2);
}

std::uint64_t number(const std::string& name, const std::string& text, std::uint64_t least) {
    if (name.find("seed") != std::string::npos && text == "random")
        return std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32);
    char* end = nullptr;
    errno = 0;
    unsigned long long value = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || text[0] == '-' || value < least)
        usage(name + ": \"" + text + "\" is not a number >= " + std::to_string(least));
    return value;
}

unsigned footprintFormat(const std::string& name, const std::string& text) {
    if (text != "1" && text != "2")
        usage(name + ": \"" + text + "\" is not a footprint format (1 or 2)");
    return text == "1" ? 1 : 2;
}

bool flag(const char* variable) {
    const char* value = std::getenv(variable);
    return !value || std::strcmp(value, "0") != 0;
}

void fromEnvironment(DifferentialSettings& s) {
    auto read = [](const char* variable, auto& field, std::uint64_t least) {
        if (const char* value = std::getenv(variable))
            field = static_cast<std::remove_reference_t<decltype(field)>>(number(variable, value, least));
    };
    read("STREAMCHAIN_DIFF_SEED", s.seed, 0);
    read("STREAMCHAIN_DIFF_SEEDS", s.seeds, 1);
    read("STREAMCHAIN_DIFF_ROUNDS", s.rounds, 1);
    read("STREAMCHAIN_DIFF_OPERATIONS", s.operations, 1);
    s.hardLinks = flag("STREAMCHAIN_DIFF_HARD_LINKS");
    s.setIdAfterChown = flag("STREAMCHAIN_DIFF_SETID_AFTER_CHOWN");
    s.largeXattrChanges = flag("STREAMCHAIN_DIFF_LARGE_XATTR_CHANGES");
    read("STREAMCHAIN_DIFF_HUGE_SPARSE_EVERY", s.hugeSparseEvery, 0);
    if (const char* value = std::getenv("STREAMCHAIN_DIFF_FOOTPRINT_FORMAT"))
        s.footprintFormat = footprintFormat("STREAMCHAIN_DIFF_FOOTPRINT_FORMAT", value);
}

} // namespace

DifferentialSettings takeDifferentialSettings(int& argc, char** argv) {
    DifferentialSettings s;
    fromEnvironment(s);
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usage(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--seed")
            s.seed = number(arg, value(), 0);
        else if (arg == "--seeds")
            s.seeds = number(arg, value(), 1);
        else if (arg == "--rounds")
            s.rounds = number(arg, value(), 1);
        else if (arg == "--operations")
            s.operations = number(arg, value(), 1);
        else if (arg == "--no-hard-links")
            s.hardLinks = false;
        else if (arg == "--no-setid-after-chown")
            s.setIdAfterChown = false;
        else if (arg == "--no-large-xattr-changes")
            s.largeXattrChanges = false;
        else if (arg == "--huge-sparse-every")
            s.hugeSparseEvery = number(arg, value(), 0);
        else if (arg == "--footprint-format")
            s.footprintFormat = footprintFormat(arg, value());
        else
            argv[kept++] = argv[i];
    }
    argv[kept] = nullptr;
    argc = kept;
    return s;
}

std::string DifferentialSettings::describe() const {
    return "footprint format " + std::to_string(footprintFormat) + ", seed " + std::to_string(seed) +
           (seeds > 1 ? " (and the " + std::to_string(seeds - 1) + " after it)" : "") + ", " +
           std::to_string(rounds) + " rounds of " + std::to_string(operations) + " operations, hard links " +
           (hardLinks ? "on" : "OFF") + ", setuid/setgid set again after chown " +
           (setIdAfterChown ? "on" : "OFF") + ", large xattr changes " + (largeXattrChanges ? "on" : "OFF") +
           ", a write past 4 GiB " +
           (hugeSparseEvery ? "every " + std::to_string(hugeSparseEvery) + " rounds" : "never");
}

std::string DifferentialSettings::replayArguments(std::uint64_t seedToReplay, std::size_t round) const {
    DifferentialSettings defaults;
    std::string text = "--seed " + std::to_string(seedToReplay) + " --rounds " + std::to_string(round);
    if (operations != defaults.operations)
        text += " --operations " + std::to_string(operations);
    if (!hardLinks)
        text += " --no-hard-links";
    if (!setIdAfterChown)
        text += " --no-setid-after-chown";
    if (!largeXattrChanges)
        text += " --no-large-xattr-changes";
    if (hugeSparseEvery != defaults.hugeSparseEvery)
        text += " --huge-sparse-every " + std::to_string(hugeSparseEvery);
    if (footprintFormat != defaults.footprintFormat)
        text += " --footprint-format " + std::to_string(footprintFormat);
    return text;
}

} // namespace sctest
