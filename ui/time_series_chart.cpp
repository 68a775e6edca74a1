#include "ui/time_series_chart.h"

#include <QChart>
#include <QChartView>
#include <QLegendMarker>
#include <QLineSeries>
#include <QPen>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>

namespace ui {

TimeSeriesChart::TimeSeriesChart(const QString& title, double windowSeconds, QVector<Unit> units, QWidget* parent)
    : QWidget(parent), chart_(new QChart), timeAxis_(new QValueAxis), valueAxis_(new QValueAxis),
      window_(windowSeconds), units_(std::move(units)) {
    chart_->setTitle(title);
    chart_->legend()->setAlignment(Qt::AlignRight);
    chart_->setMargins(QMargins(4, 4, 4, 4));
    timeAxis_->setTitleText(tr("seconds ago"));
    timeAxis_->setLabelFormat("%d");
    valueAxis_->setLabelFormat("%.3g");
    chart_->addAxis(timeAxis_, Qt::AlignBottom);
    chart_->addAxis(valueAxis_, Qt::AlignLeft);
    view_ = new QChartView(chart_, this);
    view_->setRenderHint(QPainter::Antialiasing);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(view_);
    redrawTimer_.setInterval(250); // at most four redraws a second
    connect(&redrawTimer_, &QTimer::timeout, this, &TimeSeriesChart::redraw);
    redrawTimer_.start();
}

void TimeSeriesChart::addSample(const QString& name, double seconds, double value, const QString& companionOf) {
    Series& series = series_[name];
    if (!series.line) {
        series.line = new QLineSeries;
        series.line->setName(name);
        chart_->addSeries(series.line);
        series.line->attachAxis(timeAxis_);
        series.line->attachAxis(valueAxis_);
        auto main = series_.constFind(companionOf);
        if (!companionOf.isEmpty() && main != series_.constEnd() && main->line) {
            QPen pen = main->line->pen();
            pen.setStyle(Qt::DashLine);
            series.line->setPen(pen);
            for (QLegendMarker* marker : chart_->legend()->markers(series.line))
                marker->setVisible(false);
        }
    }
    series.points.append({seconds, value});
    while (!series.points.isEmpty() && series.points.front().x() < seconds - window_)
        series.points.removeFirst();
    latest_ = std::max(latest_, seconds);
    dirty_ = true;
}

void TimeSeriesChart::redraw() {
    if (!dirty_)
        return;
    dirty_ = false;
    double top = 0;
    for (const auto& series : series_)
        for (const QPointF& p : series.points)
            top = std::max(top, p.y());
    Unit unit = units_.isEmpty() ? Unit{1, QString()} : units_.front();
    for (const Unit& candidate : units_)
        if (top >= candidate.first)
            unit = candidate;
    for (auto it = series_.begin(); it != series_.end(); ++it) {
        QVector<QPointF> shown;
        shown.reserve(it->points.size());
        for (const QPointF& p : it->points)
            shown.append({p.x() - latest_, p.y() / unit.first}); // x: seconds before the newest sample
        it->line->replace(shown);
    }
    timeAxis_->setRange(-window_, 0);
    valueAxis_->setRange(0, top > 0 ? top / unit.first * 1.15 : 1);
    valueAxis_->setTitleText(unit.second);
}

} // namespace ui
