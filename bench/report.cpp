#include "bench/report.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace bench {

double Row::ratio() const {
    if (ours <= 0 || theirs <= 0)
        return 0;
    return higherIsBetter ? ours / theirs : theirs / ours;
}

namespace {
std::string figure(double value) {
    char text[32];
    std::snprintf(text, sizeof text, value >= 100 ? "%.0f" : value >= 10 ? "%.1f" : "%.3g", value);
    return text;
}
} // namespace

void Report::print() const {
    std::printf("\nstreamchain benchmark (%s) on %s, %s; ratio > 1: streamchain does better\n\n", mode.c_str(),
                machine.c_str(), date.c_str());
    std::printf("| %-44s | %-30s | %-8s | %11s | %11s | %6s | %-8s |\n", "scenario", "peer", "unit", "streamchain",
                "peer", "ratio", "target");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(32, '-').c_str(),
                std::string(10, '-').c_str(), std::string(13, '-').c_str(), std::string(13, '-').c_str(),
                std::string(8, '-').c_str(), std::string(10, '-').c_str());
    for (const Row& row : rows)
        std::printf("| %-44s | %-30s | %-8s | %11s | %11s | %6s | %-8s |\n", row.scenario.c_str(), row.peer.c_str(),
                    row.unit.c_str(), figure(row.ours).c_str(), row.theirs > 0 ? figure(row.theirs).c_str() : "-",
                    row.ratio() > 0 ? figure(row.ratio()).c_str() : "-", row.target.c_str());
    for (const Row& row : rows)
        if (!row.note.empty())
            std::printf("  %s / %s: %s\n", row.scenario.c_str(), row.peer.c_str(), row.note.c_str());
    for (const auto& failure : failures)
        std::printf("FAILED: %s\n", failure.c_str());
}

void Report::writeCsv(const std::string& file) const {
    std::ofstream out(file);
    out << "scenario,peer,unit,streamchain,peer_value,ratio,higher_is_better,target,note\n";
    auto quoted = [](const std::string& text) {
        std::string field = "\"";
        for (char c : text)
            field += c == '"' ? std::string("\"\"") : std::string(1, c);
        return field + "\"";
    };
    for (const Row& row : rows)
        out << quoted(row.scenario) << ',' << quoted(row.peer) << ',' << quoted(row.unit) << ',' << row.ours << ','
            << row.theirs << ',' << row.ratio() << ',' << (row.higherIsBetter ? "yes" : "no") << ','
            << quoted(row.target) << ',' << quoted(row.note) << '\n';
}

void Report::writeMarkdown(const std::string& file) const {
    auto cell = [](const std::string& text) {
        std::string escaped;
        for (char c : text)
            escaped += c == '|' ? std::string("\\|") : std::string(1, c);
        return escaped;
    };
    std::ofstream out(file);
    out << "| scenario | peer | unit | streamchain | peer | ratio | target |\n|---|---|---|---:|---:|---:|---|\n";
    for (const Row& row : rows)
        out << "| " << cell(row.scenario) << " | " << cell(row.peer) << " | " << row.unit << " | " << figure(row.ours)
            << " | " << (row.theirs > 0 ? figure(row.theirs) : "-") << " | "
            << (row.ratio() > 0 ? figure(row.ratio()) : "-") << " | " << row.target << " |\n";
    for (const Row& row : rows)
        if (!row.note.empty())
            out << "\n- " << cell(row.scenario) << " / " << cell(row.peer) << ": " << row.note;
    out << "\n";
}

void Report::writeJson(const std::string& file) const {
    nlohmann::json rowsJson = nlohmann::json::array();
    for (const Row& row : rows)
        rowsJson.push_back({{"scenario", row.scenario}, {"peer", row.peer}, {"unit", row.unit},
                            {"streamchain", row.ours}, {"peer_value", row.theirs}, {"ratio", row.ratio()},
                            {"higher_is_better", row.higherIsBetter}, {"target", row.target}, {"note", row.note}});
    std::ofstream(file) << nlohmann::json({{"mode", mode}, {"machine", machine}, {"date", date},
                                           {"rows", rowsJson}, {"failures", failures}})
                               .dump(2)
                        << "\n";
}

} // namespace bench
