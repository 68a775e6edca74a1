// bench/run: streamchain against its peers on the same data in one run. Prints the
// table and writes it as CSV, JSON and a PNG chart into the output directory.
// Exit status: 0 when every scenario ran (ratios are reported, not asserted).
#include "bench/suite.h"
#include "core/footprint/footprint_tree.h"
#include "tests/support/btrfs_fixture.h"
#include "ui/ratio_chart.h"

#include <QApplication>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    bool full = false;
    std::uint64_t seed = 1;
    std::uint32_t footprintFormat = sc::kNewestFootprintFormat;
    std::string out = "build/bench";
    std::vector<std::string> only;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--full")
            full = true;
        else if (arg == "--quick")
            full = false;
        else if (arg == "--seed" && i + 1 < argc)
            seed = std::stoull(argv[++i]);
        else if (arg == "--footprint-format" && i + 1 < argc &&
                 sc::knownFootprintFormat(static_cast<std::uint32_t>(std::atoi(argv[i + 1]))))
            footprintFormat = static_cast<std::uint32_t>(std::atoi(argv[++i]));
        else if (arg == "--out" && i + 1 < argc)
            out = argv[++i];
        else if (arg == "--only" && i + 1 < argc)
            only.push_back(argv[++i]);
        else if (arg == "--help" || arg == "-h") {
            std::printf("usage: bench/run [--quick|--full] [--seed N] [--footprint-format N] [--out DIR] [--only SCENARIO]...\n"
                        "  --quick     a few hundred MB, small counts (default; CI runs it)\n"
                        "  --full      >= 1 GB dataset, 500-block catch-up, 100-block lag\n"
                        "  --seed N    dataset seed (default 1)\n"
                        "  --footprint-format N  the primary chain's footprint format, 1 or 2 (default 2)\n"
                        "  --out DIR   where bench.csv, bench.json and bench.png go (default build/bench)\n"
                        "  --only S    run scenario S (repeatable); later scenarios build on earlier ones\n"
                        "scenarios: %s\n",
                        bench::Suite::scenarioNames().c_str());
            return 0;
        } else {
            std::fprintf(stderr, "usage: bench/run [--quick|--full] [--seed N] [--footprint-format N] [--out DIR] [--only SCENARIO]...\n"
                                 "scenarios: %s\n",
                         bench::Suite::scenarioNames().c_str());
            return 2;
        }
    }
    if (!sctest::isRoot()) {
        std::fprintf(stderr, "bench/run needs root (loop images, network namespaces, sshd)\n");
        return 2;
    }
    sctest::enterPrivateMountNamespace();
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    std::filesystem::create_directories(out);
    bench::Report report;
    try {
        report = bench::Suite(full, seed, footprintFormat).run(only);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "bench/run: %s\n", e.what());
        return 2;
    }
    report.print();
    report.writeCsv(out + "/bench.csv");
    report.writeJson(out + "/bench.json");
    report.writeMarkdown(out + "/bench.md");
    QVector<ui::RatioBar> bars;
    for (const auto& row : report.rows)
        if (row.ratio() > 0)
            bars.push_back({QString::fromStdString(row.scenario + " vs " + row.peer), row.ratio()});
    bool saved = ui::saveRatioChart(QString::fromStdString("streamchain vs peers (" + report.mode + ", " +
                                                            report.machine + ", " + report.date + ")"),
                                    bars, QString::fromStdString(out + "/bench.png"));
    std::printf("\nwritten: %s/bench.csv, bench.json, bench.md%s\n", out.c_str(), saved ? ", bench.png" : " (PNG failed)");
    return report.failures.empty() && saved ? 0 : 1;
}
