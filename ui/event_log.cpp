#include "ui/event_log.h"

#include <QBrush>
#include <QColor>

namespace ui {

void EventLogModel::add(Level level, const QString& text) {
    if (entries_.size() >= kLimit) {
        beginRemoveRows({}, 0, 0);
        entries_.pop_front();
        endRemoveRows();
    }
    int row = static_cast<int>(entries_.size());
    beginInsertRows({}, row, row);
    entries_.push_back({QDateTime::currentDateTime(), level, text});
    endInsertRows();
    if (level == Level::Error)
        lastError_ = text;
}

int EventLogModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(entries_.size());
}

QVariant EventLogModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const Entry& e = entries_[static_cast<std::size_t>(index.row())];
    if (role == Qt::DisplayRole)
        return e.time.toString("HH:mm:ss") + "  " + e.text;
    if (role == Qt::ForegroundRole && e.level != Level::Info)
        return QBrush(e.level == Level::Error ? QColor(0xc6, 0x28, 0x28) : QColor(0xef, 0x6c, 0x00));
    return {};
}

} // namespace ui
