#pragma once
// The console's view of one chain served by the daemon: it polls status, follows
// events, and keeps the models the windows show (blocks, replicas, jobs, event
// log) plus throughput and lag samples. Actions go to the daemon as requests;
// nothing here touches btrfs or SSH.
#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QTimer>
#include <optional>

#include "ui/block_model.h"
#include "ui/daemon_client.h"
#include "ui/event_log.h"
#include "ui/job_model.h"
#include "ui/replica_model.h"

namespace ui {

struct ReplicaRates {
    double raw = 0, wire = 0; // bytes/s of the send stream, and on the wire after compression
};

class ConsoleSession : public QObject {
    Q_OBJECT
public:
    explicit ConsoleSession(const QString& socketPath, QObject* parent = nullptr);
    void start();

    DaemonClient& client() { return client_; }
    BlockModel& blocks() { return blocks_; }
    ReplicaModel& replicas() { return replicas_; }
    JobModel& jobs() { return jobs_; }
    EventLogModel& eventLog() { return log_; }
    QString chain() const { return chain_; }
    QString chainName() const { return chainName_; }
    qint64 tip() const { return tip_; }
    // The daemon's key directory and the keys in it this console may onboard with.
    QString keyDirectory() const { return keyDirectory_; }
    QStringList onboardingKeys() const { return onboardingKeys_; }
    bool privileged() const { return privileged_; }

    using Reply = DaemonClient::Reply;
    void commit(const QString& message, const QJsonArray& operations, const QStringList& elements, Reply done = {});
    void stream(const QStringList& targets, const QString& mode, const QString& compress, std::optional<qint64> upto,
                Reply done = {});
    void verify(const QString& replica, Reply done = {});
    void addReplica(const QJsonObject& request, Reply done = {}); // name, url, via, identity, accept_host_key, ...
    void removeReplica(const QString& name, Reply done = {});
    void cancelJob(qint64 id); // -1: the daemon's own replication stream
    void showBlock(qint64 height, Reply done);

signals:
    void connectionChanged(bool connected, const QString& detail);
    void statusUpdated();
    void jobEvent(const QJsonObject& event); // job_progress and job_done, for dialogs following a job
    void sampled(double seconds, const QHash<QString, ReplicaRates>& rates, const QHash<QString, double>& lags);
    void problem(const QString& text); // an error the operator must see

private:
    void poll();
    bool speaksOurProtocol(const QJsonObject& status); // reports a mismatch once
    void onStatus(const QJsonObject& status);
    void onEvent(const QJsonObject& event);
    void reloadBlocks();
    void startJob(const QJsonObject& request, const QString& target, Reply done);
    // Every request goes through here: a refusal by the daemon's privilege model or
    // limits ("refused" in the reply) reaches the event log and the status bar.
    void ask(const QJsonObject& request, Reply onReply);

    DaemonClient client_;
    BlockModel blocks_;
    ReplicaModel replicas_;
    JobModel jobs_;
    EventLogModel log_;
    QTimer pollTimer_;
    QString chain_, chainName_;
    QString keyDirectory_;
    QStringList onboardingKeys_;
    bool privileged_ = false;
    bool protocolMismatch_ = false;
    qint64 tip_ = -1;
    bool polling_ = false;
    bool loadingBlocks_ = false; // a `log` request is out; a newer tip is fetched when it returns
    struct Counters {
        double raw = 0, wire = 0;
        qint64 at = 0; // ms
    };
    QHash<QString, Counters> counters_; // per replica, from the previous status
    qint64 startedMs_ = 0;
};

} // namespace ui
