#include "ui/jobs_panel.h"

#include "ui/console_session.h"

#include <QApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QVBoxLayout>

namespace ui {

namespace {

// Draws the Progress column as a progress bar when the fraction is known.
class ProgressDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
        double fraction = index.data(JobModel::FractionRole).toDouble();
        if (fraction < 0)
            return QStyledItemDelegate::paint(painter, option, index);
        QStyleOptionProgressBar bar;
        bar.rect = option.rect.adjusted(2, 3, -2, -3);
        bar.minimum = 0;
        bar.maximum = 1000;
        bar.progress = static_cast<int>(fraction * 1000);
        bar.text = index.data().toString();
        bar.textVisible = true;
        bar.state = option.state | QStyle::State_Horizontal;
        QApplication::style()->drawControl(QStyle::CE_ProgressBar, &bar, painter);
    }
};

} // namespace

JobsPanel::JobsPanel(ConsoleSession& session, QWidget* parent)
    : QWidget(parent), session_(session), table_(new QTableView(this)), cancel_(new QPushButton(tr("Cancel job"), this)) {
    table_->setModel(&session_.jobs());
    table_->setItemDelegateForColumn(JobModel::Progress, new ProgressDelegate(table_));
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->setColumnWidth(JobModel::Job, 50);
    table_->setColumnWidth(JobModel::Target, 180);
    table_->setColumnWidth(JobModel::Progress, 160);
    cancel_->setEnabled(false);
    auto* buttons = new QHBoxLayout;
    buttons->addStretch();
    buttons->addWidget(cancel_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(table_);
    layout->addLayout(buttons);
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &JobsPanel::updateCancel);
    connect(&session_.jobs(), &JobModel::dataChanged, this, &JobsPanel::updateCancel);
    connect(cancel_, &QPushButton::clicked, this, [this] {
        auto rows = table_->selectionModel()->selectedRows();
        if (rows.isEmpty())
            return;
        if (const JobRow* job = session_.jobs().rowAt(rows.first().row()); job && job->running())
            session_.cancelJob(job->id);
    });
}

void JobsPanel::updateCancel() {
    auto rows = table_->selectionModel()->selectedRows();
    const JobRow* job = rows.isEmpty() ? nullptr : session_.jobs().rowAt(rows.first().row());
    cancel_->setEnabled(job && job->running());
}

} // namespace ui
