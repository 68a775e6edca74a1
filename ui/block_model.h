#pragma once
// The chain as the console shows it: one row per block, newest first, each with
// the block it links to and a badge per replica (verified, mismatch, missing,
// foreign, unhashed from verify results; received or pending from heights).
#include <QAbstractTableModel>
#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QStringList>
#include <vector>

namespace ui {

struct BlockRow {
    qint64 height = 0;
    QString hash, previous, time, message;
    QJsonArray operations;
    double bytes = 0;
    bool signatureValid = false;
};

class BlockModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // Operations come last: the widest column stretches, the replica badges stay in view.
    enum Column { Height, Hash, Time, Size, FirstReplica };
    int operationsColumn() const { return FirstReplica + static_cast<int>(replicas_.size()); }
    using QAbstractTableModel::QAbstractTableModel;

    void setBlocks(const QJsonArray& blocks); // from the daemon's `log`
    // Replicas (columns) and the newest block each holds.
    void setReplicas(const QStringList& names, const QHash<QString, qint64>& heights);
    // A verify verdict: MATCH, MISMATCH, MISSING, FOREIGN or UNHASHED, with the paths that differ.
    void setVerdict(const QString& replica, qint64 height, const QString& state, const QStringList& paths);
    QString badge(const QString& replica, qint64 height) const;

    const BlockRow* blockAt(int row) const;
    int rowOf(qint64 height) const;
    qint64 tip() const { return blocks_.empty() ? -1 : blocks_.front().height; }
    const QStringList& replicas() const { return replicas_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    struct Verdict {
        QString state;
        QStringList paths;
    };
    std::vector<BlockRow> blocks_; // newest first
    QStringList replicas_;
    QHash<QString, qint64> heights_;
    QHash<QString, QHash<qint64, Verdict>> verdicts_;
};

} // namespace ui
