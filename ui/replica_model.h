#pragma once
// Every registered replica as the daemon reports it: phase, height, how far
// behind, lag, rate, last error. Health is a colour and a word, so a replica
// that falls behind or fails shows without opening anything.
#include <QAbstractTableModel>
#include <QJsonArray>
#include <QJsonObject>
#include <vector>

namespace ui {

struct ReplicaRow {
    QString name, url, via, phase, lastError;
    qint64 height = -1;
    qint64 behind = 0;
    double lag = 0, rate = 0;
    qint64 bytesSent = 0;
    int failures = 0;
    QString health() const; // "healthy", "syncing", "behind", "failing", "unknown"
};

class ReplicaModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Via, Phase, Height, Behind, Lag, Rate, LastError, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;

    void setReplicas(const QJsonArray& replicas); // from status
    void updateReplica(const QJsonObject& replica); // from a "replica" event
    const std::vector<ReplicaRow>& rows() const { return rows_; }
    const ReplicaRow* find(const QString& name) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

signals:
    void topologyChanged(); // replicas added, removed or re-parented

private:
    static ReplicaRow fromJson(const QJsonObject& replica);
    std::vector<ReplicaRow> rows_;
};

QColor healthColour(const QString& health);

} // namespace ui
