#include "app/cli/output.h"

#include "core/footprint/footprint.h"

#include <cstdio>
#include <unistd.h>

namespace cli {

bool stderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

void printJson(const nlohmann::json& value) {
    std::string line = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

std::string shortHash(const std::string& hex) { return hex.substr(0, 12); }

std::string showPath(const std::string& raw) { return sc::displayPath(raw); }

StatusLine::StatusLine() : active_(stderrIsTerminal()) {}
StatusLine::~StatusLine() { clear(); }

void StatusLine::show(const std::string& text) {
    if (!active_)
        return;
    std::string line = "\r" + text;
    if (text.size() < width_)
        line += std::string(width_ - text.size(), ' ');
    width_ = text.size();
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
}

void StatusLine::clear() {
    if (!active_ || width_ == 0)
        return;
    std::fprintf(stderr, "\r%s\r", std::string(width_, ' ').c_str());
    std::fflush(stderr);
    width_ = 0;
}

} // namespace cli
