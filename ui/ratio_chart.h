#pragma once
// The benchmark's picture: one horizontal bar per (scenario, peer) showing how
// streamchain compares (ratio, above 1 is better), next to a line at 1. Drawn
// with QtCharts behind this class, like the console's charts, and saved as PNG.
#include <QString>
#include <QVector>

namespace ui {

struct RatioBar {
    QString label;
    double ratio = 0;
};

// Renders offscreen-capable; returns false if the file could not be written.
bool saveRatioChart(const QString& title, const QVector<RatioBar>& bars, const QString& pngFile);

} // namespace ui
