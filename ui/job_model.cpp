#include "ui/job_model.h"

#include "ui/format.h"
#include "ui/wire.h"

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
    if (kind == wire::kOpVerify) {
        QJsonObject counts = result.value(wire::kCounts).toObject();
        return tr("%1 match, %2 mismatch, %3 missing, %4 foreign")
            .arg(counts.value("MATCH").toInt())
            .arg(counts.value("MISMATCH").toInt())
            .arg(counts.value("MISSING").toInt())
            .arg(counts.value("FOREIGN").toInt());
    }
    if (kind == wire::kOpStream)
        return tr("%1 sent in %2")
            .arg(formatBytes(result.value(wire::kRawBytes).toDouble()),
                 formatDuration(result.value(wire::kSeconds).toDouble()));
    if (kind == wire::kOpReplicaAdd)
        return tr("%1 registered").arg(result.value(wire::kReplica).toString());
    return {};
}

void JobModel::applyStatus(const QJsonArray& jobs) {
    for (const auto& value : jobs) {
        QJsonObject job = value.toObject();
        JobRow& row = rowFor(job.value(wire::kJob).toInteger(), job.value(wire::kKind).toString());
        row.kind = job.value(wire::kKind).toString();
        QString state = job.value(wire::kState).toString();
        if (state == row.state)
            continue;
        row.state = state;
        row.outcome = state == wire::kJobDone ? summarize(row.kind, job.value(wire::kResult).toObject())
                                              : job.value(wire::kError).toString();
        changed(row);
    }
}

void JobModel::applyEvent(const QJsonObject& event) {
    const QString type = event.value(wire::kEvent).toString();
    if (type == wire::kEventSync) {
        // The daemon's own replication stream of a chain.
        QStringList targets;
        for (const auto& t : event.value(wire::kTargets).toArray())
            targets << t.toString();
        pruneReplication();
        JobRow& row = rowFor(-1, "replication");
        row.target = targets.join(", ");
        row.step = tr("block %1").arg(event.value(wire::kHeight).toInteger());
        row.done = event.value(wire::kBytesDone).toDouble();
        row.total = event.value(wire::kBytesTotal).toDouble();
        row.rate = event.value(wire::kRate).toDouble();
        row.eta = row.rate > 0 ? (row.total - row.done) / row.rate : -1;
        if (event.contains(wire::kError))
            row.outcome = event.value(wire::kError).toString();
        if (row.total > 0 && row.done >= row.total) {
            row.state = wire::kJobDone;
            row.outcome = tr("%1 to %2").arg(formatBytes(row.total), row.target);
        }
        changed(row);
        return;
    }
    const qint64 id = event.value(wire::kJob).toInteger();
    if (type == wire::kEventJobStarted) {
        JobRow& row = rowFor(id, event.value(wire::kKind).toString());
        row.kind = event.value(wire::kKind).toString();
        changed(row);
    } else if (type == wire::kEventJobProgress) {
        JobRow& row = rowFor(id, event.value(wire::kKind).toString());
        QJsonObject p = event.value(wire::kProgress).toObject();
        if (p.contains(wire::kBytesTotal)) {
            row.done = p.value(wire::kBytesDone).toDouble();
            row.total = p.value(wire::kBytesTotal).toDouble();
            row.rate = p.value(wire::kRate).toDouble();
            row.eta = p.contains(wire::kEtaSeconds) ? p.value(wire::kEtaSeconds).toDouble()
                      : row.rate > 0                ? (row.total - row.done) / row.rate
                                                    : -1;
        }
        if (p.contains(wire::kStep))
            row.step = p.value(wire::kStep).toString() +
                       (p.contains(wire::kDetail) && !p.value(wire::kDetail).toString().isEmpty()
                            ? ": " + p.value(wire::kDetail).toString()
                            : QString());
        if (p.contains(wire::kHeight) && row.kind == wire::kOpVerify) {
            row.done += 1;
            row.step = tr("block %1: %2")
                           .arg(p.value(wire::kHeight).toInteger())
                           .arg(p.value(wire::kState).toString());
        }
        changed(row);
    } else if (type == wire::kEventJobDone) {
        JobRow& row = rowFor(id, event.value(wire::kKind).toString());
        bool ok = event.value(wire::kOk).toBool();
        row.state = event.contains(wire::kState) ? event.value(wire::kState).toString()
                    : ok                         ? wire::kJobDone
                                                 : wire::kJobFailed;
        row.outcome = ok ? summarize(row.kind, event.value(wire::kResult).toObject())
                         : event.value(wire::kError).toString();
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
    double fraction =
        row->total > 0 ? std::min(1.0, row->done / row->total) : (row->state == wire::kJobDone ? 1.0 : -1.0);
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
        if (row->state == wire::kJobFailed)
            return QBrush(QColor(0xc6, 0x28, 0x28));
        if (row->state == wire::kJobDone)
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
