#include "ui/replica_model.h"

#include "ui/format.h"
#include "ui/wire.h"

#include <QBrush>
#include <QColor>

namespace ui {

QString ReplicaRow::health() const {
    if (phase == wire::kPhaseRetrying || failures > 0)
        return "failing";
    if (phase == wire::kPhaseSyncing)
        return "syncing";
    if (phase == wire::kPhaseInSync)
        return behind > 0 ? "behind" : "healthy";
    return "unknown";
}

QColor healthColour(const QString& health) {
    if (health == "healthy")
        return QColor(0x2e, 0x7d, 0x32);
    if (health == "syncing")
        return QColor(0x15, 0x65, 0xc0);
    if (health == "behind")
        return QColor(0xef, 0x6c, 0x00);
    if (health == "failing")
        return QColor(0xc6, 0x28, 0x28);
    return QColor(0x75, 0x75, 0x75);
}

ReplicaRow ReplicaModel::fromJson(const QJsonObject& r) {
    ReplicaRow row;
    row.name = r.value(wire::kName).toString();
    row.url = r.value(wire::kUrl).toString();
    row.via = r.value(wire::kVia).toString();
    row.phase = r.value(wire::kPhase).toString();
    row.lastError = r.value(wire::kLastError).toString();
    row.height = r.value(wire::kHeight).isDouble() ? r.value(wire::kHeight).toInteger() : -1;
    row.behind = r.value(wire::kBlocksBehind).toInteger();
    row.lag = r.value(wire::kLagSeconds).toDouble();
    row.rate = r.value(wire::kRate).toDouble();
    row.bytesSent = r.value(wire::kBytesSent).toInteger();
    row.failures = r.value(wire::kFailures).toInt();
    return row;
}

void ReplicaModel::setReplicas(const QJsonArray& replicas) {
    std::vector<ReplicaRow> rows;
    for (const auto& r : replicas)
        rows.push_back(fromJson(r.toObject()));
    bool sameShape = rows.size() == rows_.size();
    for (std::size_t i = 0; sameShape && i < rows.size(); ++i)
        sameShape = rows[i].name == rows_[i].name && rows[i].via == rows_[i].via;
    if (!sameShape) {
        beginResetModel();
        rows_ = std::move(rows);
        endResetModel();
        emit topologyChanged();
        return;
    }
    rows_ = std::move(rows);
    if (!rows_.empty())
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

void ReplicaModel::updateReplica(const QJsonObject& replica) {
    ReplicaRow row = fromJson(replica);
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        if (rows_[i].name != row.name)
            continue;
        if (row.via.isEmpty())
            row.via = rows_[i].via; // older daemons leave it out of events
        rows_[i] = row;
        emit dataChanged(index(static_cast<int>(i), 0), index(static_cast<int>(i), ColumnCount - 1));
        return;
    }
}

const ReplicaRow* ReplicaModel::find(const QString& name) const {
    for (const auto& row : rows_)
        if (row.name == name)
            return &row;
    return nullptr;
}

int ReplicaModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int ReplicaModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant ReplicaModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const ReplicaRow& r = rows_[static_cast<std::size_t>(index.row())];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Name:
            return r.name;
        case Via:
            return r.via.isEmpty() ? tr("primary") : r.via;
        case Phase:
            return r.phase;
        case Height:
            return r.height < 0 ? QVariant(tr("none")) : QVariant(r.height);
        case Behind:
            return r.behind;
        case Lag:
            return r.behind ? formatDuration(r.lag) : QString("-");
        case Rate:
            return r.rate > 0 ? formatRate(r.rate) : QString("-");
        case LastError:
            return r.health() == "failing" ? r.lastError : QString();
        default:
            return {};
        }
    }
    if (role == Qt::ForegroundRole && (index.column() == Phase || index.column() == LastError))
        return QBrush(healthColour(r.health()));
    if (role == Qt::ToolTipRole)
        return r.url + (r.lastError.isEmpty() ? QString() : "\n" + tr("last error: ") + r.lastError);
    return {};
}

QVariant ReplicaModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* names[] = {"Replica", "Fed by", "Phase", "Height", "Behind", "Lag", "Rate", "Last error"};
    return section < ColumnCount ? tr(names[section]) : QVariant();
}

} // namespace ui
