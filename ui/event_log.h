#pragma once
// What happened, newest last: blocks, replica changes, job results and every
// error, with the time it arrived. Bounded, so a long-running console stays small.
#include <QAbstractListModel>
#include <QDateTime>
#include <deque>

namespace ui {

class EventLogModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum class Level { Info, Warning, Error };
    using QAbstractListModel::QAbstractListModel;
    void add(Level level, const QString& text);
    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QString lastError() const { return lastError_; }

private:
    struct Entry {
        QDateTime time;
        Level level;
        QString text;
    };
    std::deque<Entry> entries_;
    QString lastError_;
    static constexpr std::size_t kLimit = 2000;
};

} // namespace ui
