#pragma once
// How the CLI speaks: one error line on stderr, JSON on stdout for scripts,
// a live progress line only on a terminal.
#include <nlohmann/json.hpp>
#include <string>

namespace cli {

bool stderrIsTerminal();
void printJson(const nlohmann::json& value); // one compact line
std::string shortHash(const std::string& hex);
// Paths from the filesystem are raw bytes; show them escaped on one line.
std::string showPath(const std::string& raw);

// A status line on a terminal that later lines overwrite; nothing elsewhere.
class StatusLine {
public:
    StatusLine();
    ~StatusLine();
    void show(const std::string& text);
    void clear();

private:
    bool active_;
    std::size_t width_ = 0;
};

} // namespace cli
