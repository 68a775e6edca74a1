#include "ui/block_model.h"

#include "ui/format.h"
#include "ui/wire.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>

namespace ui {

void BlockModel::setBlocks(const QJsonArray& blocks) {
    beginResetModel();
    blocks_.clear();
    for (auto it = blocks.end(); it != blocks.begin();) {
        QJsonObject b = (--it)->toObject();
        BlockRow row;
        row.height = b.value(wire::kHeight).toInteger();
        row.hash = b.value(wire::kHash).toString();
        row.previous = b.value(wire::kPrevious).toString();
        row.time = b.value(wire::kTimestamp).toString();
        row.message = b.value(wire::kMessage).toString();
        row.operations = b.value(wire::kOperations).toArray();
        row.bytes = b.value(wire::kBytes).toDouble();
        row.signatureValid = b.value(wire::kSignatureValid).toBool();
        blocks_.push_back(row);
    }
    endResetModel();
}

void BlockModel::setReplicas(const QStringList& names, const QHash<QString, qint64>& heights) {
    if (names != replicas_) {
        beginResetModel();
        replicas_ = names;
        heights_ = heights;
        endResetModel();
        return;
    }
    heights_ = heights;
    if (!blocks_.empty() && !replicas_.isEmpty())
        emit dataChanged(index(0, FirstReplica), index(rowCount() - 1, columnCount() - 1));
}

void BlockModel::setVerdict(const QString& replica, qint64 height, const QString& state, const QStringList& paths) {
    verdicts_[replica][height] = {state, paths};
    int row = rowOf(height), column = static_cast<int>(replicas_.indexOf(replica));
    if (row >= 0 && column >= 0)
        emit dataChanged(index(row, FirstReplica + column), index(row, FirstReplica + column));
}

QString BlockModel::badge(const QString& replica, qint64 height) const {
    auto verdicts = verdicts_.constFind(replica);
    if (verdicts != verdicts_.constEnd()) {
        auto verdict = verdicts->constFind(height);
        if (verdict != verdicts->constEnd())
            return verdict->state == wire::kVerdictMatch ? "verified" : verdict->state.toLower();
    }
    return heights_.value(replica, -1) >= height ? "received" : "pending";
}

const BlockRow* BlockModel::blockAt(int row) const {
    return row >= 0 && row < static_cast<int>(blocks_.size()) ? &blocks_[static_cast<std::size_t>(row)] : nullptr;
}

int BlockModel::rowOf(qint64 height) const {
    for (std::size_t i = 0; i < blocks_.size(); ++i)
        if (blocks_[i].height == height)
            return static_cast<int>(i);
    return -1;
}

int BlockModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(blocks_.size());
}

int BlockModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : operationsColumn() + 1;
}

namespace {

QString operationsText(const QJsonArray& operations) {
    QStringList parts;
    for (const auto& op : operations) {
        QJsonObject o = op.toObject();
        QString text = o.value(wire::kOp).toString();
        if (o.contains(wire::kElement))
            text += " " + o.value(wire::kElement).toString();
        parts << text;
    }
    return parts.join(", ");
}

QColor badgeColour(const QString& badge) {
    if (badge == "verified")
        return QColor(0x2e, 0x7d, 0x32);
    if (badge == "received")
        return QColor(0x55, 0x8b, 0x2f);
    if (badge == "pending")
        return QColor(0x9e, 0x9e, 0x9e);
    if (badge == "unhashed")
        return QColor(0xef, 0x6c, 0x00);
    return QColor(0xc6, 0x28, 0x28); // mismatch, missing, foreign
}

} // namespace

QVariant BlockModel::data(const QModelIndex& index, int role) const {
    const BlockRow* block = blockAt(index.row());
    if (!block)
        return {};
    const int column = index.column();
    if (column >= FirstReplica && column < operationsColumn()) {
        const QString replica = replicas_.value(column - FirstReplica);
        const QString state = badge(replica, block->height);
        if (role == Qt::DisplayRole)
            return state == "verified" ? QString::fromUtf8("\u2714 verified")
                   : state == "received" ? QString::fromUtf8("\u2713 received")
                   : state == "pending"  ? QString::fromUtf8("\u2026 pending")
                                         : QString::fromUtf8("\u2716 ") + state.toUpper();
        if (role == Qt::ForegroundRole)
            return QBrush(badgeColour(state));
        if (role == Qt::ToolTipRole) {
            QStringList paths = verdicts_.value(replica).value(block->height).paths;
            return paths.isEmpty() ? replica + ": " + state : replica + ": " + state + "\n" + paths.join("\n");
        }
        return {};
    }
    if (role == Qt::DisplayRole) {
        if (column == operationsColumn())
            return block->operations.isEmpty() ? block->message : operationsText(block->operations);
        switch (column) {
        case Height:
            return block->height;
        case Hash: // the block and the one it links to
            return block->hash.left(8) + QString::fromUtf8(" \u2190 ") +
                   (block->previous.isEmpty() ? QString("genesis") : block->previous.left(8));
        case Time:
            return QDateTime::fromString(block->time, Qt::ISODateWithMs).toLocalTime().toString("HH:mm:ss");
        case Size:
            return formatBytes(block->bytes);
        default:
            return {};
        }
    }
    if (role == Qt::ForegroundRole && column == Hash && !block->signatureValid)
        return QBrush(QColor(0xc6, 0x28, 0x28));
    if (role == Qt::ToolTipRole)
        return tr("block %1 %2\nlinks to %3\n%4\n%5%6")
            .arg(block->height)
            .arg(block->hash, block->previous.isEmpty() ? tr("nothing (genesis)") : block->previous, block->time,
                 block->message, block->signatureValid ? QString() : tr("\nSIGNATURE INVALID"));
    if (role == Qt::TextAlignmentRole && (column == Height || column == Size))
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant BlockModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* names[] = {"Height", "Block \u2190 links to", "Time", "Size"};
    if (section < FirstReplica)
        return tr(names[section]);
    if (section == operationsColumn())
        return tr("Operations");
    return replicas_.value(section - FirstReplica);
}

} // namespace ui
