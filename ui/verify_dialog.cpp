#include "ui/verify_dialog.h"

#include "ui/console_session.h"
#include "ui/wire.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace ui {

namespace {

QColor stateColour(const QString& state) {
    if (state == "MATCH")
        return QColor(0xc8, 0xe6, 0xc9);
    if (state == "UNHASHED")
        return QColor(0xff, 0xe0, 0xb2);
    if (state.isEmpty() || state == "…")
        return QColor(0xf5, 0xf5, 0xf5);
    return QColor(0xff, 0xcd, 0xd2); // MISMATCH, MISSING, FOREIGN
}

} // namespace

VerifyDialog::VerifyDialog(ConsoleSession& session, QWidget* parent)
    : QDialog(parent), session_(session), replicas_(new QListWidget(this)), verify_(new QPushButton(tr("Verify"), this)),
      matrix_(new QTableWidget(this)), summary_(new QLabel(this)) {
    setWindowTitle(tr("Verify blocks on replicas"));
    for (const auto& r : session_.replicas().rows()) {
        auto* item = new QListWidgetItem(r.name, replicas_);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(Qt::Checked);
    }
    replicas_->setMaximumHeight(90);
    matrix_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    matrix_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    summary_->setWordWrap(true);
    auto* top = new QHBoxLayout;
    top->addWidget(replicas_, 1);
    top->addWidget(verify_, 0, Qt::AlignBottom);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Each replica re-hashes its blocks where they are and compares them with the "
                                    "chain's signed footprints."),
                                 this));
    layout->addLayout(top);
    layout->addWidget(matrix_, 1);
    layout->addWidget(summary_);
    connect(verify_, &QPushButton::clicked, this, [this] { start(checkedReplicas()); });
    connect(&session_, &ConsoleSession::jobEvent, this, &VerifyDialog::onJobEvent);
    resize(720, 520);
}

QStringList VerifyDialog::checkedReplicas() const {
    QStringList names;
    for (int i = 0; i < replicas_->count(); ++i)
        if (replicas_->item(i)->checkState() == Qt::Checked)
            names << replicas_->item(i)->text();
    return names;
}

void VerifyDialog::start(const QStringList& replicas) {
    columns_ = replicas;
    const qint64 tip = session_.tip();
    matrix_->clear();
    matrix_->setColumnCount(static_cast<int>(columns_.size()));
    matrix_->setHorizontalHeaderLabels(columns_);
    matrix_->setRowCount(static_cast<int>(std::max<qint64>(tip + 1, 0)));
    QStringList heights;
    for (qint64 h = tip; h >= 0; --h)
        heights << tr("block %1").arg(h);
    matrix_->setVerticalHeaderLabels(heights);
    for (int row = 0; row < matrix_->rowCount(); ++row)
        for (int column = 0; column < matrix_->columnCount(); ++column) {
            auto* item = new QTableWidgetItem(QString::fromUtf8("\u2026"));
            item->setBackground(stateColour({}));
            matrix_->setItem(row, column, item);
        }
    running_.clear();
    started_ = !columns_.isEmpty();
    awaiting_ = static_cast<int>(columns_.size());
    summary_->setText(tr("Verifying %1 replica(s)\u2026").arg(columns_.size()));
    for (const QString& replica : columns_)
        session_.verify(replica, [this, replica](const QJsonObject& reply) {
            --awaiting_;
            if (reply.value(wire::kOk).toBool()) {
                const qint64 id = reply.value(wire::kJob).toInteger();
                running_.insert(id, replica);
                QList<QJsonObject> early;
                early.swap(early_);
                for (const auto& event : early)
                    if (event.value(wire::kJob).toInteger() == id)
                        onJobEvent(event);
                    else
                        early_.append(event);
            } else
                summary_->setText(tr("%1: %2").arg(replica, reply.value(wire::kError).toString()));
        });
}

void VerifyDialog::onJobEvent(const QJsonObject& event) {
    const qint64 id = event.value(wire::kJob).toInteger();
    if (!running_.contains(id)) {
        if (event.value(wire::kKind).toString() == wire::kOpVerify && early_.size() < 100000)
            early_.append(event); // the job's own reply may still be on its way
        return;
    }
    const QString replica = running_.value(id);
    if (event.value(wire::kEvent).toString() == wire::kEventJobDone) {
        running_.remove(id);
        QString line =
            event.value(wire::kOk).toBool()
                ? tr("%1: %2").arg(replica,
                                   event.value(wire::kResult).toObject().value(wire::kAllMatch).toBool()
                                       ? tr("every block matches")
                                       : tr("DIFFERENCES FOUND"))
                : tr("%1: failed: %2").arg(replica, event.value(wire::kError).toString());
        summary_->setText(running_.isEmpty() ? summary_->text().replace(tr("Verifying"), tr("Verified")).replace(QString::fromUtf8("\u2026"), ":") + "\n" + line
                                             : summary_->text() + "\n" + line);
        return;
    }
    QJsonObject p = event.value(wire::kProgress).toObject();
    const qint64 height = p.value(wire::kHeight).toInteger();
    const int row = static_cast<int>(session_.tip() - height), column = static_cast<int>(columns_.indexOf(replica));
    if (row < 0 || row >= matrix_->rowCount() || column < 0)
        return;
    const QString state = p.value(wire::kState).toString();
    QStringList paths;
    for (const auto& path : p.value(wire::kPaths).toArray())
        paths << path.toString();
    auto* item = matrix_->item(row, column);
    item->setText(paths.isEmpty() ? state : state + ": " + paths.join(", "));
    item->setToolTip(p.value(wire::kDetail).toString() +
                     (paths.isEmpty() ? QString() : "\n" + paths.join("\n")));
    item->setBackground(stateColour(state));
}

QString VerifyDialog::summary() const { return summary_->text(); }

QString VerifyDialog::cell(qint64 height, const QString& replica) const {
    const int row = static_cast<int>(session_.tip() - height), column = static_cast<int>(columns_.indexOf(replica));
    auto* item = row >= 0 && column >= 0 ? matrix_->item(row, column) : nullptr;
    return item ? item->text() : QString();
}

} // namespace ui
