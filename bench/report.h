#pragma once
// The benchmark's results: one row per (scenario, peer), streamchain's figure and
// the peer's from the same run, and the ratio (above 1: streamchain does better),
// printed as a table and written as CSV, JSON and Markdown.
#include <string>
#include <vector>

namespace bench {

struct Row {
    std::string scenario, peer, unit;
    double ours = 0, theirs = 0;
    bool higherIsBetter = true; // throughput: yes; time, lag, CPU, RSS: no
    std::string target;         // what the issue asks for, e.g. ">= 0.95"
    std::string note;
    double ratio() const;       // > 1: streamchain better; 0 when a side has no figure
};

struct Report {
    std::string mode, machine, date;
    std::vector<Row> rows;
    std::vector<std::string> failures; // scenarios that broke (the smoke test fails on these)
    void print() const;
    void writeCsv(const std::string& file) const;
    void writeJson(const std::string& file) const;
    void writeMarkdown(const std::string& file) const; // the table as the README shows it
};

} // namespace bench
