#pragma once
// Verify blocks × replicas: pick replicas, start one verify job each on the
// daemon, and watch the matrix fill in as verdicts arrive (match, mismatch with
// the paths that differ, missing, foreign, unhashed).
#include <QDialog>
#include <QHash>
#include <QJsonObject>

QT_BEGIN_NAMESPACE
class QLabel;
class QListWidget;
class QPushButton;
class QTableWidget;
QT_END_NAMESPACE

namespace ui {

class ConsoleSession;

class VerifyDialog : public QDialog {
    Q_OBJECT
public:
    explicit VerifyDialog(ConsoleSession& session, QWidget* parent = nullptr);
    void start(const QStringList& replicas); // also what the Verify button does
    QString cell(qint64 height, const QString& replica) const; // the state shown (tests read it)
    bool finished() const { return started_ && awaiting_ == 0 && running_.isEmpty(); }
    QString summary() const;

private:
    void onJobEvent(const QJsonObject& event);
    QStringList checkedReplicas() const;

    ConsoleSession& session_;
    QListWidget* replicas_;
    QPushButton* verify_;
    QTableWidget* matrix_;
    QLabel* summary_;
    QStringList columns_;
    QHash<qint64, QString> running_; // job id -> replica
    bool started_ = false;
    int awaiting_ = 0; // verify requests not answered yet
    QList<QJsonObject> early_; // events of jobs whose id has not come back yet
};

} // namespace ui
