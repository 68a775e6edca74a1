#pragma once
// The console's main window: the chain (blocks with a badge per replica, the
// selected block in full), the replica topology, live throughput and lag, jobs
// and the event log. It is composed of small widgets fed by ConsoleSession;
// actions open dialogs whose results go to the daemon.
#include <QMainWindow>

QT_BEGIN_NAMESPACE
class QAction;
class QLabel;
class QTableView;
class QTabWidget;
QT_END_NAMESPACE

namespace ui {

class BlockDetailView;
class ConsoleSession;
class JobsPanel;
class TimeSeriesChart;
class TopologyView;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(ConsoleSession& session, QWidget* parent = nullptr);

    // The parts tests and screenshots look at.
    QTableView* chainTable() const { return chainTable_; }
    TopologyView* topology() const { return topology_; }
    TimeSeriesChart* throughputChart() const { return throughput_; }
    TimeSeriesChart* lagChart() const { return lag_; }
    QLabel* connectionLabel() const { return connection_; }
    QLabel* problemLabel() const { return problem_; } // the status bar's error, refusals included
    QTabWidget* bottomTabs() const { return bottom_; }

public slots:
    void commitBlock();
    void streamBlocks();
    void verifyBlocks();
    void addReplica();
    void removeReplica();

private:
    void buildActions();
    void onConnection(bool connected, const QString& detail);
    void onProblem(const QString& text);
    void onBlockSelected();
    QString selectedReplica() const;

    ConsoleSession& session_;
    QTableView* chainTable_;
    BlockDetailView* detail_;
    TopologyView* topology_;
    TimeSeriesChart* throughput_;
    TimeSeriesChart* lag_;
    QTableView* replicaTable_;
    QTabWidget* bottom_;
    JobsPanel* jobs_;
    QLabel* connection_;
    QLabel* problem_;
    QList<QAction*> daemonActions_;
    qint64 shownHeight_ = -1;
};

} // namespace ui
