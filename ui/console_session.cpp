#include "ui/console_session.h"

#include "ui/format.h"

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
    ask({{"op", "status"}}, [this](const QJsonObject& status) {
        polling_ = false;
        if (status.value("ok").toBool())
            onStatus(status);
    });
}

void ConsoleSession::onStatus(const QJsonObject& status) {
    QJsonObject access = status.value("access").toObject();
    keyDirectory_ = access.value("key_directory").toString();
    privileged_ = access.value("privileged").toBool();
    onboardingKeys_.clear();
    for (const auto& key : access.value("keys").toArray())
        onboardingKeys_ << key.toString();
    QJsonArray chains = status.value("chains").toArray();
    if (chains.isEmpty())
        return;
    QJsonObject chain = chains.first().toObject();
    for (const auto& c : chains)
        if (c.toObject().value("path").toString() == chain_)
            chain = c.toObject();
    chain_ = chain.value("path").toString();
    chainName_ = chain.value("name").toString();
    qint64 tip = chain.value("tip").isDouble() ? chain.value("tip").toInteger() : -1;
    QJsonArray replicas = chain.value("replicas").toArray();
    replicas_.setReplicas(replicas);
    QStringList names;
    QHash<QString, qint64> heights;
    for (const auto& r : replicas) {
        QJsonObject o = r.toObject();
        names << o.value("name").toString();
        heights[o.value("name").toString()] = o.value("height").isDouble() ? o.value("height").toInteger() : -1;
    }
    blocks_.setReplicas(names, heights);
    jobs_.applyStatus(status.value("jobs").toArray());
    // Throughput from the daemon's byte counters between two polls: honest for bursts too.
    const qint64 now = nowMs();
    QHash<QString, ReplicaRates> rates;
    QHash<QString, double> lags;
    for (const auto& r : replicas) {
        QJsonObject o = r.toObject();
        const QString name = o.value("name").toString();
        Counters current{o.value("raw_bytes").toDouble(), o.value("bytes_sent").toDouble(), now};
        auto previous = counters_.constFind(name);
        if (previous != counters_.constEnd() && now > previous->at) {
            double seconds = static_cast<double>(now - previous->at) / 1000.0;
            rates[name] = {std::max(0.0, current.raw - previous->raw) / seconds,
                           std::max(0.0, current.wire - previous->wire) / seconds};
        }
        counters_[name] = current;
        lags[name] = o.value("blocks_behind").toInteger() ? o.value("lag_seconds").toDouble() : 0.0;
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
    ask({{"op", "log"}, {"chain", chain_}, {"limit", 500}}, [this](const QJsonObject& reply) {
        loadingBlocks_ = false;
        if (reply.value("ok").toBool())
            blocks_.setBlocks(reply.value("blocks").toArray());
        if (reply.value("ok").toBool() && blocks_.tip() < tip_)
            reloadBlocks();
    });
}

void ConsoleSession::onEvent(const QJsonObject& event) {
    const QString type = event.value("event").toString();
    if (!chain_.isEmpty() && event.contains("chain") && event.value("chain").toString() != chain_)
        return; // another chain of the same daemon
    jobs_.applyEvent(event);
    if (type == "block") {
        log_.add(EventLogModel::Level::Info, tr("block %1 committed (%2)")
                                                 .arg(event.value("height").toInteger())
                                                 .arg(shortHash(event.value("hash").toString())));
        tip_ = event.value("height").toInteger();
        reloadBlocks();
    } else if (type == "replica") {
        QJsonObject replica = event.value("replica").toObject();
        const ReplicaRow* before = replicas_.find(replica.value("name").toString());
        QString phase = replica.value("phase").toString();
        if (phase == "retrying")
            emit problem(tr("replica %1: %2")
                             .arg(replica.value("name").toString(), replica.value("last_error").toString()));
        if (!before || before->phase != phase)
            log_.add(phase == "retrying" ? EventLogModel::Level::Error : EventLogModel::Level::Info,
                     tr("replica %1: %2%3")
                         .arg(replica.value("name").toString(), phase,
                              phase == "retrying" ? ": " + replica.value("last_error").toString() : QString()));
        replicas_.updateReplica(replica);
    } else if (type == "error") {
        log_.add(EventLogModel::Level::Error, event.value("error").toString());
        emit problem(event.value("error").toString());
    } else if (type == "job" && event.contains("error")) {
        log_.add(EventLogModel::Level::Error, event.value("error").toString());
    } else if (type == "job_done") {
        bool ok = event.value("ok").toBool();
        log_.add(ok ? EventLogModel::Level::Info : EventLogModel::Level::Error,
                 tr("job %1 (%2) %3").arg(event.value("job").toInteger()).arg(event.value("kind").toString(),
                                                                             ok ? tr("done")
                                                                                : tr("failed: ") +
                                                                                      event.value("error").toString()));
        if (!ok)
            emit problem(tr("%1 failed: %2").arg(event.value("kind").toString(), event.value("error").toString()));
    }
    if (type == "job_progress" && event.value("kind").toString() == "verify") {
        QJsonObject p = event.value("progress").toObject();
        QStringList paths;
        for (const auto& path : p.value("paths").toArray())
            paths << path.toString();
        blocks_.setVerdict(p.value("replica").toString(), p.value("height").toInteger(), p.value("state").toString(),
                           paths);
    }
    if (type == "job_progress" || type == "job_done")
        emit jobEvent(event);
}

void ConsoleSession::ask(const QJsonObject& request, Reply onReply) {
    client_.request(request, [this, onReply = std::move(onReply)](const QJsonObject& reply) {
        if (onReply)
            onReply(reply);
        if (reply.contains("refused")) {
            const QString why = reply.value("error").toString();
            log_.add(EventLogModel::Level::Error, why);
            emit problem(why);
        }
    });
}

void ConsoleSession::startJob(const QJsonObject& request, const QString& target, Reply done) {
    ask(request, [this, target, done](const QJsonObject& reply) {
        if (reply.value("ok").toBool())
            jobs_.noteTarget(reply.value("job").toInteger(), target);
        else if (!reply.contains("refused")) // ask() reports refusals
            log_.add(EventLogModel::Level::Error, reply.value("error").toString());
        if (done)
            done(reply);
    });
}

void ConsoleSession::commit(const QString& message, const QJsonArray& operations, const QStringList& elements,
                            Reply done) {
    ask({{"op", "commit"}, {"chain", chain_}, {"message", message}, {"operations", operations},
         {"elements", QJsonArray::fromStringList(elements)}},
        [this, done](const QJsonObject& reply) {
            if (!reply.value("ok").toBool() && !reply.contains("refused"))
                log_.add(EventLogModel::Level::Error, tr("commit failed: ") + reply.value("error").toString());
            if (done)
                done(reply);
        });
}

void ConsoleSession::stream(const QStringList& targets, const QString& mode, const QString& compress,
                            std::optional<qint64> upto, Reply done) {
    QJsonObject request{{"op", "stream"}, {"chain", chain_}, {"targets", QJsonArray::fromStringList(targets)},
                        {"mode", mode}, {"compress", compress}};
    if (upto)
        request["upto"] = *upto;
    startJob(request, targets.join(", "), std::move(done));
}

void ConsoleSession::verify(const QString& replica, Reply done) {
    startJob({{"op", "verify"}, {"chain", chain_}, {"replica", replica}}, replica, std::move(done));
}

void ConsoleSession::addReplica(const QJsonObject& request, Reply done) {
    QJsonObject full = request;
    full["op"] = "replica-add";
    full["chain"] = chain_;
    startJob(full, request.value("name").toString(), std::move(done));
}

void ConsoleSession::removeReplica(const QString& name, Reply done) {
    ask({{"op", "replica-remove"}, {"chain", chain_}, {"name", name}}, [this, name, done](const QJsonObject& reply) {
        if (reply.value("ok").toBool())
            log_.add(EventLogModel::Level::Info, tr("replica %1 removed").arg(name));
        else if (!reply.contains("refused"))
            log_.add(EventLogModel::Level::Error, reply.value("error").toString());
        poll();
        if (done)
            done(reply);
    });
}

void ConsoleSession::cancelJob(qint64 id) {
    QJsonObject request = id < 0 ? QJsonObject{{"op", "cancel"}, {"chain", chain_}}
                                 : QJsonObject{{"op", "cancel"}, {"job", id}};
    ask(request, [this, id](const QJsonObject& reply) {
        log_.add(EventLogModel::Level::Info,
                 reply.value("ok").toBool() ? tr("cancel requested for job %1").arg(id)
                                            : tr("job %1 was not running").arg(id));
    });
}

void ConsoleSession::showBlock(qint64 height, Reply done) {
    ask({{"op", "show"}, {"chain", chain_}, {"height", height}}, std::move(done));
}

} // namespace ui
