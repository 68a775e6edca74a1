#include "ui/console_session.h"

#include "ui/format.h"
#include "ui/wire.h"

#include <QDateTime>

namespace ui {

namespace {
qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }
} // namespace

ConsoleSession::ConsoleSession(const QString& socketPath, QObject* parent)
    : QObject(parent), client_(socketPath, this), startedMs_(nowMs()) {
    pollTimer_.setInterval(1000);
    connect(&pollTimer_, &QTimer::timeout, this, &ConsoleSession::poll);
    connect(&client_, &DaemonClient::eventReceived, this, &ConsoleSession::onEvent);
    connect(&client_, &DaemonClient::connectionChanged, this, [this](bool connected, const QString& detail) {
        log_.add(connected ? EventLogModel::Level::Info : EventLogModel::Level::Error, detail);
        emit connectionChanged(connected, detail);
        if (connected)
            poll();
    });
}

void ConsoleSession::start() {
    client_.start();
    pollTimer_.start();
}

void ConsoleSession::poll() {
    if (!client_.isConnected() || polling_)
        return;
    polling_ = true;
    ask({{wire::kOp, wire::kOpStatus}}, [this](const QJsonObject& status) {
        polling_ = false;
        if (status.value(wire::kOk).toBool() && speaksOurProtocol(status))
            onStatus(status);
    });
}

// A daemon of another protocol version names things differently: say so once, plainly,
// rather than show a console that looks empty or stale.
bool ConsoleSession::speaksOurProtocol(const QJsonObject& status) {
    const int theirs = status.value(wire::kProtocol).toInt(1); // version 1 did not say
    if (theirs == wire::kProtocolVersion) {
        protocolMismatch_ = false;
        return true;
    }
    if (!protocolMismatch_) {
        protocolMismatch_ = true;
        const QString why = tr("the daemon speaks control protocol version %1, this console version %2: "
                               "install the same streamchain version on both")
                                .arg(theirs)
                                .arg(wire::kProtocolVersion);
        log_.add(EventLogModel::Level::Error, why);
        emit problem(why);
    }
    return false;
}

void ConsoleSession::onStatus(const QJsonObject& status) {
    QJsonObject access = status.value(wire::kAccess).toObject();
    keyDirectory_ = access.value(wire::kKeyDirectory).toString();
    privileged_ = access.value(wire::kPrivileged).toBool();
    onboardingKeys_.clear();
    for (const auto& key : access.value(wire::kKeys).toArray())
        onboardingKeys_ << key.toString();
    QJsonArray chains = status.value(wire::kChains).toArray();
    if (chains.isEmpty())
        return;
    QJsonObject chain = chains.first().toObject();
    for (const auto& c : chains)
        if (c.toObject().value(wire::kPath).toString() == chain_)
            chain = c.toObject();
    chain_ = chain.value(wire::kPath).toString();
    chainName_ = chain.value(wire::kName).toString();
    qint64 tip = chain.value(wire::kTip).isDouble() ? chain.value(wire::kTip).toInteger() : -1;
    QJsonArray replicas = chain.value(wire::kReplicas).toArray();
    replicas_.setReplicas(replicas);
    QStringList names;
    QHash<QString, qint64> heights;
    for (const auto& r : replicas) {
        QJsonObject o = r.toObject();
        names << o.value(wire::kName).toString();
        heights[o.value(wire::kName).toString()] =
            o.value(wire::kHeight).isDouble() ? o.value(wire::kHeight).toInteger() : -1;
    }
    blocks_.setReplicas(names, heights);
    jobs_.applyStatus(status.value(wire::kJobs).toArray());
    // Throughput from the daemon's byte counters between two polls: honest for bursts too.
    const qint64 now = nowMs();
    QHash<QString, ReplicaRates> rates;
    QHash<QString, double> lags;
    for (const auto& r : replicas) {
        QJsonObject o = r.toObject();
        const QString name = o.value(wire::kName).toString();
        Counters current{o.value(wire::kRawBytes).toDouble(), o.value(wire::kBytesSent).toDouble(), now};
        auto previous = counters_.constFind(name);
        if (previous != counters_.constEnd() && now > previous->at) {
            double seconds = static_cast<double>(now - previous->at) / 1000.0;
            rates[name] = {std::max(0.0, current.raw - previous->raw) / seconds,
                           std::max(0.0, current.wire - previous->wire) / seconds};
        }
        counters_[name] = current;
        lags[name] = o.value(wire::kBlocksBehind).toInteger() ? o.value(wire::kLagSeconds).toDouble() : 0.0;
    }
    if (!rates.isEmpty())
        emit sampled(static_cast<double>(now - startedMs_) / 1000.0, rates, lags);
    if (tip != tip_ || blocks_.tip() != tip) {
        tip_ = tip;
        reloadBlocks();
    }
    emit statusUpdated();
}

void ConsoleSession::reloadBlocks() {
    // Block events and status polls both notice a new tip: one request at a time, again only if still behind.
    if (loadingBlocks_ || !client_.isConnected())
        return;
    loadingBlocks_ = true;
    ask({{wire::kOp, wire::kOpLog}, {wire::kChain, chain_}, {wire::kLimit, 500}},
        [this](const QJsonObject& reply) {
            loadingBlocks_ = false;
            if (reply.value(wire::kOk).toBool())
                blocks_.setBlocks(reply.value(wire::kBlocks).toArray());
            if (reply.value(wire::kOk).toBool() && blocks_.tip() < tip_)
                reloadBlocks();
        });
}

void ConsoleSession::onEvent(const QJsonObject& event) {
    const QString type = event.value(wire::kEvent).toString();
    if (!chain_.isEmpty() && event.contains(wire::kChain) && event.value(wire::kChain).toString() != chain_)
        return; // another chain of the same daemon
    jobs_.applyEvent(event);
    if (type == wire::kEventBlock) {
        log_.add(EventLogModel::Level::Info, tr("block %1 committed (%2)")
                                                 .arg(event.value(wire::kHeight).toInteger())
                                                 .arg(shortHash(event.value(wire::kHash).toString())));
        tip_ = event.value(wire::kHeight).toInteger();
        reloadBlocks();
    } else if (type == wire::kEventReplica) {
        QJsonObject replica = event.value(wire::kReplica).toObject();
        const ReplicaRow* before = replicas_.find(replica.value(wire::kName).toString());
        QString phase = replica.value(wire::kPhase).toString();
        if (phase == wire::kPhaseRetrying)
            emit problem(
                tr("replica %1: %2")
                    .arg(replica.value(wire::kName).toString(), replica.value(wire::kLastError).toString()));
        if (!before || before->phase != phase)
            log_.add(phase == wire::kPhaseRetrying ? EventLogModel::Level::Error : EventLogModel::Level::Info,
                     tr("replica %1: %2%3")
                         .arg(replica.value(wire::kName).toString(), phase,
                              phase == wire::kPhaseRetrying
                                  ? ": " + replica.value(wire::kLastError).toString()
                                  : QString()));
        replicas_.updateReplica(replica);
    } else if (type == wire::kEventError) {
        log_.add(EventLogModel::Level::Error, event.value(wire::kError).toString());
        emit problem(event.value(wire::kError).toString());
    } else if (type == wire::kEventSync && event.contains(wire::kError)) {
        log_.add(EventLogModel::Level::Error, event.value(wire::kError).toString());
    } else if (type == wire::kEventJobDone) {
        bool ok = event.value(wire::kOk).toBool();
        log_.add(ok ? EventLogModel::Level::Info : EventLogModel::Level::Error,
                 tr("job %1 (%2) %3")
                     .arg(event.value(wire::kJob).toInteger())
                     .arg(event.value(wire::kKind).toString(),
                          ok ? tr("done") : tr("failed: ") + event.value(wire::kError).toString()));
        if (!ok)
            emit problem(tr("%1 failed: %2")
                             .arg(event.value(wire::kKind).toString(), event.value(wire::kError).toString()));
    }
    if (type == wire::kEventJobProgress && event.value(wire::kKind).toString() == wire::kOpVerify) {
        QJsonObject p = event.value(wire::kProgress).toObject();
        QStringList paths;
        for (const auto& path : p.value(wire::kPaths).toArray())
            paths << path.toString();
        blocks_.setVerdict(p.value(wire::kReplica).toString(), p.value(wire::kHeight).toInteger(),
                           p.value(wire::kState).toString(), paths);
    }
    if (type == wire::kEventJobProgress || type == wire::kEventJobDone)
        emit jobEvent(event);
}

void ConsoleSession::ask(const QJsonObject& request, Reply onReply) {
    client_.request(request, [this, onReply = std::move(onReply)](const QJsonObject& reply) {
        if (onReply)
            onReply(reply);
        if (reply.contains(wire::kRefused)) {
            const QString why = reply.value(wire::kError).toString();
            log_.add(EventLogModel::Level::Error, why);
            emit problem(why);
        }
    });
}

void ConsoleSession::startJob(const QJsonObject& request, const QString& target, Reply done) {
    ask(request, [this, target, done](const QJsonObject& reply) {
        if (reply.value(wire::kOk).toBool())
            jobs_.noteTarget(reply.value(wire::kJob).toInteger(), target);
        else if (!reply.contains(wire::kRefused)) // ask() reports refusals
            log_.add(EventLogModel::Level::Error, reply.value(wire::kError).toString());
        if (done)
            done(reply);
    });
}

void ConsoleSession::commit(const QString& message, const QJsonArray& operations, const QStringList& elements,
                            Reply done) {
    ask({{wire::kOp, wire::kOpCommit},
         {wire::kChain, chain_},
         {wire::kMessage, message},
         {wire::kOperations, operations},
         {wire::kElements, QJsonArray::fromStringList(elements)}},
        [this, done](const QJsonObject& reply) {
            if (!reply.value(wire::kOk).toBool() && !reply.contains(wire::kRefused))
                log_.add(EventLogModel::Level::Error,
                         tr("commit failed: ") + reply.value(wire::kError).toString());
            if (done)
                done(reply);
        });
}

void ConsoleSession::stream(const QStringList& targets, const QString& mode, const QString& compress,
                            std::optional<qint64> upto, Reply done) {
    QJsonObject request{{wire::kOp, wire::kOpStream},
                        {wire::kChain, chain_},
                        {wire::kTargets, QJsonArray::fromStringList(targets)},
                        {wire::kMode, mode},
                        {wire::kCompress, compress}};
    if (upto)
        request[wire::kUpto] = *upto;
    startJob(request, targets.join(", "), std::move(done));
}

void ConsoleSession::verify(const QString& replica, Reply done) {
    startJob({{wire::kOp, wire::kOpVerify}, {wire::kChain, chain_}, {wire::kReplica, replica}}, replica,
             std::move(done));
}

void ConsoleSession::addReplica(const QJsonObject& request, Reply done) {
    QJsonObject full = request;
    full[wire::kOp] = wire::kOpReplicaAdd;
    full[wire::kChain] = chain_;
    startJob(full, request.value(wire::kName).toString(), std::move(done));
}

void ConsoleSession::removeReplica(const QString& name, Reply done) {
    ask({{wire::kOp, wire::kOpReplicaRemove}, {wire::kChain, chain_}, {wire::kName, name}},
        [this, name, done](const QJsonObject& reply) {
            if (reply.value(wire::kOk).toBool())
                log_.add(EventLogModel::Level::Info, tr("replica %1 removed").arg(name));
            else if (!reply.contains(wire::kRefused))
                log_.add(EventLogModel::Level::Error, reply.value(wire::kError).toString());
            poll();
            if (done)
                done(reply);
        });
}

void ConsoleSession::cancelJob(qint64 id) {
    QJsonObject request = id < 0 ? QJsonObject{{wire::kOp, wire::kOpCancel}, {wire::kChain, chain_}}
                                 : QJsonObject{{wire::kOp, wire::kOpCancel}, {wire::kJob, id}};
    ask(request, [this, id](const QJsonObject& reply) {
        log_.add(EventLogModel::Level::Info, reply.value(wire::kOk).toBool()
                                                 ? tr("cancel requested for job %1").arg(id)
                                                 : tr("job %1 was not running").arg(id));
    });
}

void ConsoleSession::showBlock(qint64 height, Reply done) {
    ask({{wire::kOp, wire::kOpShow}, {wire::kChain, chain_}, {wire::kHeight, height}}, std::move(done));
}

} // namespace ui
