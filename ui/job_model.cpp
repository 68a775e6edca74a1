#include "ui/job_model.h"

#include "ui/format.h"

#include <QBrush>
#include <QColor>

namespace ui {

JobRow& JobModel::rowFor(qint64 id, const QString& kind) {
    for (auto& row : rows_)
        if (row.id == id && (id >= 0 || row.running()))
            return row;
    beginInsertRows({}, 0, 0);
    JobRow row;
    row.id = id;
    row.kind = kind;
    rows_.insert(rows_.begin(), row);
    endInsertRows();
    return rows_.front();
}

void JobModel::pruneReplication() {
    // The daemon streams every block: keep the newest few finished ones, not hundreds.
    int kept = 0;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        if (rows_[i].id >= 0 || rows_[i].running() || ++kept <= 5)
            continue;
        beginRemoveRows({}, static_cast<int>(i), static_cast<int>(i));
        rows_.erase(rows_.begin() + static_cast<std::ptrdiff_t>(i));
        endRemoveRows();
        --i;
    }
}

void JobModel::changed(const JobRow& row) {
    for (std::size_t i = 0; i < rows_.size(); ++i)
        if (&rows_[i] == &row)
            emit dataChanged(index(static_cast<int>(i), 0), index(static_cast<int>(i), ColumnCount - 1));
}

void JobModel::noteTarget(qint64 id, const QString& target) {
    JobRow& row = rowFor(id, {});
    row.target = target;
    changed(row);
}

QString JobModel::summarize(const QString& kind, const QJsonObject& result) {
    if (kind == "verify") {
        QJsonObject counts = result.value("counts").toObject();
        return tr("%1 match, %2 mismatch, %3 missing, %4 foreign")
            .arg(counts.value("MATCH").toInt())
            .arg(counts.value("MISMATCH").toInt())
            .arg(counts.value("MISSING").toInt())
            .arg(counts.value("FOREIGN").toInt());
    }
    if (kind == "stream")
        return tr("%1 sent in %2").arg(formatBytes(result.value("raw_bytes").toDouble()),
                                       formatDuration(result.value("seconds").toDouble()));
    if (kind == "replica-add")
        return tr("%1 registered").arg(result.value("replica").toString());
    return {};
}

void JobModel::applyStatus(const QJsonArray& jobs) {
    for (const auto& value : jobs) {
        QJsonObject job = value.toObject();
        JobRow& row = rowFor(job.value("job").toInteger(), job.value("kind").toString());
        row.kind = job.value("kind").toString();
        QString state = job.value("state").toString();
        if (state == row.state)
            continue;
        row.state = state;
        row.outcome = state == "done" ? summarize(row.kind, job.value("result").toObject()) : job.value("error").toString();
        changed(row);
    }
}

void JobModel::applyEvent(const QJsonObject& event) {
    const QString type = event.value("event").toString();
    if (type == "job") {
        // The daemon's own replication stream of a chain.
        QStringList targets;
        for (const auto& t : event.value("targets").toArray())
            targets << t.toString();
        pruneReplication();
        JobRow& row = rowFor(-1, "replication");
        row.target = targets.join(", ");
        row.step = tr("block %1").arg(event.value("height").toInteger());
        row.done = event.value("bytes_done").toDouble();
        row.total = event.value("bytes_total").toDouble();
        row.rate = event.value("rate").toDouble();
        row.eta = row.rate > 0 ? (row.total - row.done) / row.rate : -1;
        if (event.contains("error"))
            row.outcome = event.value("error").toString();
        if (row.total > 0 && row.done >= row.total) {
            row.state = "done";
            row.outcome = tr("%1 to %2").arg(formatBytes(row.total), row.target);
        }
        changed(row);
        return;
    }
    const qint64 id = event.value("job").toInteger();
    if (type == "job_started") {
        JobRow& row = rowFor(id, event.value("kind").toString());
        row.kind = event.value("kind").toString();
        changed(row);
    } else if (type == "job_progress") {
        JobRow& row = rowFor(id, event.value("kind").toString());
        QJsonObject p = event.value("progress").toObject();
        if (p.contains("bytes_total")) {
            row.done = p.value("bytes_done").toDouble();
            row.total = p.value("bytes_total").toDouble();
            row.rate = p.value("rate").toDouble();
            row.eta = p.contains("eta_seconds") ? p.value("eta_seconds").toDouble()
                      : row.rate > 0            ? (row.total - row.done) / row.rate
                                                : -1;
        }
        if (p.contains("step"))
            row.step = p.value("step").toString() +
                       (p.contains("detail") && !p.value("detail").toString().isEmpty()
                            ? ": " + p.value("detail").toString()
                            : QString());
        if (p.contains("height") && row.kind == "verify") {
            row.done += 1;
            row.step = tr("block %1: %2").arg(p.value("height").toInteger()).arg(p.value("state").toString());
        }
        changed(row);
    } else if (type == "job_done") {
        JobRow& row = rowFor(id, event.value("kind").toString());
        bool ok = event.value("ok").toBool();
        row.state = event.contains("state") ? event.value("state").toString() : ok ? "done" : "failed";
        row.outcome = ok ? summarize(row.kind, event.value("result").toObject()) : event.value("error").toString();
        if (ok && row.total > 0)
            row.done = row.total;
        changed(row);
    }
}

const JobRow* JobModel::rowAt(int row) const {
    return row >= 0 && row < static_cast<int>(rows_.size()) ? &rows_[static_cast<std::size_t>(row)] : nullptr;
}

int JobModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }

int JobModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant JobModel::data(const QModelIndex& index, int role) const {
    const JobRow* row = rowAt(index.row());
    if (!row)
        return {};
    double fraction = row->total > 0 ? std::min(1.0, row->done / row->total) : (row->state == "done" ? 1.0 : -1.0);
    if (role == FractionRole)
        return fraction;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Job:
            return row->id < 0 ? QString("auto") : QString::number(row->id);
        case Kind:
            return row->kind;
        case Target:
            return row->target;
        case State:
            return row->state;
        case Progress:
            return fraction < 0 ? row->step : QString("%1%").arg(static_cast<int>(fraction * 100));
        case Rate:
            return row->rate > 0 && row->running() ? formatRate(row->rate) : QString();
        case Eta:
            return row->eta >= 0 && row->running() ? formatDuration(row->eta) : QString();
        case Outcome:
            return row->outcome.isEmpty() ? row->step : row->outcome;
        default:
            return {};
        }
    }
    if (role == Qt::ForegroundRole && (index.column() == State || index.column() == Outcome)) {
        if (row->state == "failed")
            return QBrush(QColor(0xc6, 0x28, 0x28));
        if (row->state == "done")
            return QBrush(QColor(0x2e, 0x7d, 0x32));
    }
    if (role == Qt::ToolTipRole)
        return row->outcome.isEmpty() ? row->step : row->outcome;
    return {};
}

QVariant JobModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* names[] = {"Job", "Kind", "Target", "State", "Progress", "Rate", "ETA", "Result"};
    return section < ColumnCount ? tr(names[section]) : QVariant();
}

} // namespace ui
