#pragma once
// A live line chart of our own, so the rest of the console does not depend on
// QtCharts (deprecated from Qt 6.10): samples go into bounded buffers and the
// series are redrawn a few times a second with replace(), never per sample.
#include <QHash>
#include <QPointF>
#include <QTimer>
#include <QVector>
#include <QWidget>
#include <utility>

QT_BEGIN_NAMESPACE
class QChart;
class QChartView;
class QLineSeries;
class QValueAxis;
QT_END_NAMESPACE

namespace ui {

class TimeSeriesChart : public QWidget {
    Q_OBJECT
public:
    // `window`: seconds of history kept and shown. `units`: (size, name) pairs, smallest first;
    // the value axis uses the largest unit that fits the highest value shown.
    using Unit = std::pair<double, QString>;
    TimeSeriesChart(const QString& title, double windowSeconds, QVector<Unit> units, QWidget* parent = nullptr);
    // `companionOf`: draw this series dashed in that series' colour and leave it out of the
    // legend (on-the-wire bytes next to the stream's own).
    void addSample(const QString& series, double seconds, double value, const QString& companionOf = {});
    int seriesCount() const { return static_cast<int>(series_.size()); }
    int pendingRedraws() const { return dirty_ ? 1 : 0; }

private:
    void redraw();

    struct Series {
        QLineSeries* line = nullptr;
        QVector<QPointF> points;
    };
    QChart* chart_;
    QChartView* view_;
    QValueAxis* timeAxis_;
    QValueAxis* valueAxis_;
    QHash<QString, Series> series_;
    double window_;
    QVector<Unit> units_;
    QTimer redrawTimer_;
    bool dirty_ = false;
    double latest_ = 0;
};

} // namespace ui
