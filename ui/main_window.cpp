#include "ui/main_window.h"

#include "ui/action_dialogs.h"
#include "ui/add_replica_wizard.h"
#include "ui/block_detail_view.h"
#include "ui/console_session.h"
#include "ui/format.h"
#include "ui/jobs_panel.h"
#include "ui/time_series_chart.h"
#include "ui/topology_view.h"
#include "ui/verify_dialog.h"
#include "ui/wire.h"

#include <QAction>
#include <QHeaderView>
#include <QLabel>
#include <QListView>
#include <QMessageBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace ui {

MainWindow::MainWindow(ConsoleSession& session, QWidget* parent)
    : QMainWindow(parent), session_(session), chainTable_(new QTableView), detail_(new BlockDetailView),
      topology_(new TopologyView(session.replicas())),
      throughput_(new TimeSeriesChart(tr("Throughput per replica (solid: stream, dashed: on the wire)"), 120,
                                      {{1, "B/s"}, {1024, "KiB/s"}, {1024 * 1024, "MiB/s"}, {1024 * 1024 * 1024, "GiB/s"}})),
      lag_(new TimeSeriesChart(tr("Lag per replica"), 120, {{0.001, "ms"}, {1, "s"}, {60, "min"}})),
      replicaTable_(new QTableView), bottom_(new QTabWidget), jobs_(new JobsPanel(session)), connection_(new QLabel),
      problem_(new QLabel) {
    setWindowTitle(tr("streamchain console"));
    chainTable_->setModel(&session_.blocks());
    chainTable_->setSelectionBehavior(QAbstractItemView::SelectRows);
    chainTable_->setSelectionMode(QAbstractItemView::SingleSelection);
    chainTable_->verticalHeader()->hide();
    chainTable_->horizontalHeader()->setStretchLastSection(true);
    chainTable_->setAlternatingRowColors(true);
    chainTable_->horizontalHeader()->setDefaultSectionSize(88);
    chainTable_->setWordWrap(false);
    auto sizeColumns = [this] {
        chainTable_->setColumnWidth(BlockModel::Height, 50);
        chainTable_->setColumnWidth(BlockModel::Hash, 150);
        chainTable_->setColumnWidth(BlockModel::Time, 64);
        chainTable_->setColumnWidth(BlockModel::Size, 72);
    };
    sizeColumns();
    // The newest block is shown in full until the operator picks another.
    connect(&session_.blocks(), &QAbstractItemModel::modelReset, this, [this, sizeColumns] {
        sizeColumns();
        // Keep the block the operator is reading selected while new blocks arrive above it.
        int row = shownHeight_ < 0 ? 0 : session_.blocks().rowOf(shownHeight_);
        if (row >= 0 && row < session_.blocks().rowCount())
            chainTable_->selectRow(row);
    });
    replicaTable_->setModel(&session_.replicas());
    replicaTable_->setSelectionBehavior(QAbstractItemView::SelectRows);
    replicaTable_->setSelectionMode(QAbstractItemView::SingleSelection);
    replicaTable_->verticalHeader()->hide();
    replicaTable_->horizontalHeader()->setStretchLastSection(true);
    auto* eventLog = new QListView;
    eventLog->setModel(&session_.eventLog());
    connect(&session_.eventLog(), &QAbstractItemModel::rowsInserted, eventLog, [eventLog] { eventLog->scrollToBottom(); });

    auto* chainSide = new QSplitter(Qt::Vertical);
    chainSide->addWidget(chainTable_);
    chainSide->addWidget(detail_);
    chainSide->setStretchFactor(0, 3);
    chainSide->setStretchFactor(1, 2);
    auto* charts = new QSplitter(Qt::Vertical);
    charts->addWidget(throughput_);
    charts->addWidget(lag_);
    auto* watchSide = new QSplitter(Qt::Vertical);
    watchSide->addWidget(topology_);
    watchSide->addWidget(charts);
    watchSide->setStretchFactor(0, 2);
    watchSide->setStretchFactor(1, 3);
    auto* top = new QSplitter(Qt::Horizontal);
    top->addWidget(chainSide);
    top->addWidget(watchSide);
    top->setSizes({640, 640});
    chainSide->setSizes({330, 220});
    watchSide->setSizes({220, 330});
    bottom_->addTab(jobs_, tr("Jobs"));
    bottom_->addTab(replicaTable_, tr("Replicas"));
    bottom_->addTab(eventLog, tr("Event log"));
    auto* whole = new QSplitter(Qt::Vertical);
    whole->addWidget(top);
    whole->addWidget(bottom_);
    whole->setSizes({560, 170});
    setCentralWidget(whole);

    problem_->setStyleSheet("color:#c62828");
    statusBar()->addWidget(connection_);
    statusBar()->addPermanentWidget(problem_, 1);
    buildActions();

    connect(&session_, &ConsoleSession::connectionChanged, this, &MainWindow::onConnection);
    connect(&session_, &ConsoleSession::problem, this, &MainWindow::onProblem);
    connect(&session_, &ConsoleSession::statusUpdated, this, [this] {
        topology_->setPrimary(session_.chainName().isEmpty() ? tr("primary") : session_.chainName(), session_.tip());
        setWindowTitle(tr("streamchain console — %1 (%2), tip %3")
                           .arg(session_.chainName(), session_.chain())
                           .arg(session_.tip()));
        bool failing = false;
        for (const auto& r : session_.replicas().rows())
            failing = failing || r.health() == "failing";
        if (!failing && problem_->text().startsWith(tr("replica")))
            problem_->clear(); // the replica recovered
    });
    connect(&session_, &ConsoleSession::sampled, this,
            [this](double t, const QHash<QString, ReplicaRates>& rates, const QHash<QString, double>& lags) {
                for (auto it = rates.constBegin(); it != rates.constEnd(); ++it) {
                    throughput_->addSample(it.key(), t, it->raw);
                    throughput_->addSample(it.key() + tr(" wire"), t, it->wire, it.key());
                    topology_->setEdgeRate(it.key(), it->wire);
                }
                for (auto it = lags.constBegin(); it != lags.constEnd(); ++it)
                    lag_->addSample(it.key(), t, it.value());
            });
    connect(chainTable_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &MainWindow::onBlockSelected);
    onConnection(session_.client().isConnected(), session_.client().problem());
    resize(1280, 800);
}

void MainWindow::buildActions() {
    auto* bar = addToolBar(tr("Actions"));
    bar->setMovable(false);
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    auto add = [&](const QString& text, const QString& tip, void (MainWindow::*slot)()) {
        QAction* action = bar->addAction(text, this, slot);
        action->setToolTip(tip);
        daemonActions_ << action;
    };
    add(tr("Commit block…"), tr("Snapshot the working data as the next signed block"), &MainWindow::commitBlock);
    add(tr("Stream…"), tr("Send blocks to chosen replicas (several: fan-out)"), &MainWindow::streamBlocks);
    add(tr("Verify…"), tr("Re-hash blocks on replicas and compare with the chain"), &MainWindow::verifyBlocks);
    bar->addSeparator();
    add(tr("Add replica…"), tr("Onboard a new replica step by step"), &MainWindow::addReplica);
    add(tr("Remove replica…"), tr("Unregister the replica selected in the Replicas tab"), &MainWindow::removeReplica);
}

void MainWindow::onConnection(bool connected, const QString& detail) {
    for (QAction* action : daemonActions_)
        action->setEnabled(connected);
    if (connected) {
        connection_->setText(tr("daemon: connected (%1)").arg(session_.client().socketPath()));
        connection_->setStyleSheet("color:#2e7d32");
        problem_->clear();
    } else {
        connection_->setText(tr("daemon: NOT CONNECTED, retrying"));
        connection_->setStyleSheet("color:#c62828;font-weight:bold");
        problem_->setText(detail);
    }
}

void MainWindow::onProblem(const QString& text) {
    problem_->setText(text);
    problem_->setToolTip(text); // a long refusal is cut at the window's edge; the whole of it is here and in the event log
}

void MainWindow::onBlockSelected() {
    auto rows = chainTable_->selectionModel()->selectedRows();
    const BlockRow* block = rows.isEmpty() ? nullptr : session_.blocks().blockAt(rows.first().row());
    if (!block || block->height == shownHeight_)
        return;
    shownHeight_ = block->height;
    detail_->showLoading(block->height);
    qint64 height = block->height;
    session_.showBlock(height, [this, height](const QJsonObject& reply) {
        if (height == shownHeight_)
            detail_->showBlock(reply);
    });
}

QString MainWindow::selectedReplica() const {
    auto rows = replicaTable_->selectionModel()->selectedRows();
    const auto& all = session_.replicas().rows();
    return rows.isEmpty() || rows.first().row() >= static_cast<int>(all.size())
               ? QString()
               : all[static_cast<std::size_t>(rows.first().row())].name;
}

void MainWindow::commitBlock() {
    CommitDialog dialog(this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    session_.commit(dialog.message(), dialog.operations(), dialog.elements(),
                    [this](const QJsonObject& reply) {
                        if (reply.value(wire::kOk).toBool())
                            statusBar()->showMessage(
                                tr("block %1 committed").arg(reply.value(wire::kHeight).toInteger()), 5000);
                        else
                            onProblem(tr("commit failed: ") + reply.value(wire::kError).toString());
                    });
}

void MainWindow::streamBlocks() {
    QStringList names;
    for (const auto& r : session_.replicas().rows())
        names << r.name;
    StreamDialog dialog(names, session_.tip(), this);
    if (!selectedReplica().isEmpty())
        dialog.setChecked({selectedReplica()});
    if (dialog.exec() != QDialog::Accepted)
        return;
    StreamChoice choice = dialog.choice();
    session_.stream(choice.targets, choice.mode, choice.compress, choice.upto,
                    [this](const QJsonObject& reply) {
                        if (!reply.value(wire::kOk).toBool())
                            onProblem(tr("stream refused: ") + reply.value(wire::kError).toString());
                        else
                            bottom_->setCurrentWidget(jobs_);
                    });
}

void MainWindow::verifyBlocks() {
    auto* dialog = new VerifyDialog(session_, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

void MainWindow::addReplica() {
    auto* wizard = new AddReplicaWizard(session_, this);
    wizard->setAttribute(Qt::WA_DeleteOnClose);
    wizard->show();
}

void MainWindow::removeReplica() {
    QString name = selectedReplica();
    if (name.isEmpty()) {
        bottom_->setCurrentWidget(replicaTable_);
        QMessageBox::information(this, tr("Remove replica"), tr("Select the replica to remove in the Replicas tab."));
        return;
    }
    if (QMessageBox::question(this, tr("Remove replica"),
                              tr("Unregister %1? The daemon stops feeding it. Its blocks stay on the host and its "
                                 "host key stays pinned.")
                                  .arg(name)) != QMessageBox::Yes)
        return;
    session_.removeReplica(name, [this](const QJsonObject& reply) {
        if (!reply.value(wire::kOk).toBool())
            onProblem(reply.value(wire::kError).toString());
    });
}

} // namespace ui
