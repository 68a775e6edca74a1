#include "ui/ratio_chart.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QHorizontalBarSeries>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QValueAxis>
#include <algorithm>

namespace ui {

bool saveRatioChart(const QString& title, const QVector<RatioBar>& bars, const QString& pngFile) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->hide();
    auto* set = new QBarSet(QObject::tr("streamchain / peer"));
    QStringList labels;
    double top = 1;
    // Top to bottom in the order given.
    for (auto it = bars.crbegin(); it != bars.crend(); ++it) {
        *set << it->ratio;
        labels << it->label;
        top = std::max(top, it->ratio);
    }
    set->setColor(QColor(0x15, 0x65, 0xc0));
    set->setLabelColor(Qt::black);
    auto* series = new QHorizontalBarSeries;
    series->append(set);
    series->setLabelsVisible(true);
    series->setLabelsFormat("@value");
    series->setLabelsPosition(QAbstractBarSeries::LabelsOutsideEnd);
    series->setLabelsPrecision(3);
    chart->addSeries(series);
    auto* categories = new QBarCategoryAxis;
    categories->append(labels);
    chart->addAxis(categories, Qt::AlignLeft);
    series->attachAxis(categories);
    // Logarithmic, so 0.5 and 2 sit as far from parity on either side.
    double bottom = 1;
    for (const auto& bar : bars)
        if (bar.ratio > 0)
            bottom = std::min(bottom, bar.ratio);
    auto* values = new QLogValueAxis;
    values->setBase(10);
    values->setLabelFormat("%g");
    values->setMinorTickCount(8);
    values->setRange(std::min(0.1, bottom / 1.5), top * 2);
    values->setTitleText(QObject::tr("ratio, log scale (above 1: streamchain does better)"));
    chart->addAxis(values, Qt::AlignBottom);
    series->attachAxis(values);
    // The line at 1: parity with the peer.
    auto* parity = new QLineSeries;
    parity->append(1, -0.5);
    parity->append(1, static_cast<double>(bars.size()) - 0.5);
    parity->setColor(QColor(0xc6, 0x28, 0x28));
    chart->addSeries(parity);
    auto* parityY = new QValueAxis;
    parityY->setRange(-0.5, static_cast<double>(bars.size()) - 0.5);
    parityY->setVisible(false);
    chart->addAxis(parityY, Qt::AlignRight);
    parity->attachAxis(values);
    parity->attachAxis(parityY);
    QChartView view(chart);
    view.setRenderHint(QPainter::Antialiasing);
    view.resize(1280, 120 + 34 * static_cast<int>(bars.size()));
    return view.grab().save(pngFile);
}

} // namespace ui
