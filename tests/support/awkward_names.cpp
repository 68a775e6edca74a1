#include "tests/support/awkward_names.h"

#include <array>

namespace sctest {

namespace {

// Each stem is followed by a counter, so names stay unique across a run.
const std::array<const char*, 12> kStems = {
    "f",           "d",          "with space ",   "it's \"quoted\" ", "new\nline ",   "bad\xff\xfe-",
    "-",           "--help=",    "\xc3\xbcml\xc3\xa4ut-", "glob*?[x]\\",       "tab\tctl\x01-", " lead-and-trail ",
};

} // namespace

std::string AwkwardNames::next(std::size_t maxBytes) {
    std::string number = std::to_string(++counter_);
    std::uint64_t kind = random_() % 20;
    // Half of the names are plain, so logs stay readable; one in twenty is NAME_MAX long.
    if (kind < 10)
        return (kind < 6 ? "f" : "d") + number;
    if (kind == 19 && maxBytes >= 255) {
        std::string name = "long-" + number + "-";
        while (name.size() < 255)
            name += static_cast<char>('a' + static_cast<char>(random_() % 26));
        if (random_() % 2)
            name[name.size() / 2] = '\xff'; // not UTF-8 either
        return name;
    }
    std::string name = kStems[random_() % kStems.size()] + number;
    return name.size() <= maxBytes ? name : "f" + number;
}

} // namespace sctest
