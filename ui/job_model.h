#pragma once
// Everything the daemon is doing or did for the operator: stream, verify and
// onboarding jobs, and its own replication streams, with progress, rate, ETA
// and, once finished, the result or the error (kept, not cleared).
#include <QAbstractTableModel>
#include <QJsonArray>
#include <QJsonObject>
#include <vector>

namespace ui {

struct JobRow {
    qint64 id = 0;           // the daemon's job id; replication streams use -1
    QString kind, target;    // "stream", "verify", "replica-add", "replication"
    QString state = "running";
    QString step;            // what it is doing now
    double done = 0, total = 0, rate = 0, eta = -1;
    QString outcome;         // result summary or error, once finished
    bool running() const { return state == "running"; }
};

class JobModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Job, Kind, Target, State, Progress, Rate, Eta, Outcome, ColumnCount };
    enum Role { FractionRole = Qt::UserRole + 1 }; // 0..1, or -1 when unknown
    using QAbstractTableModel::QAbstractTableModel;

    void noteTarget(qint64 id, const QString& target); // what the console asked the job to do
    void applyStatus(const QJsonArray& jobs);          // the daemon's job list
    void applyEvent(const QJsonObject& event);         // job_started, job_progress, job_done, job
    const JobRow* rowAt(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    JobRow& rowFor(qint64 id, const QString& kind);
    void changed(const JobRow& row);
    void pruneReplication();
    static QString summarize(const QString& kind, const QJsonObject& result);
    std::vector<JobRow> rows_; // newest first
};

} // namespace ui
