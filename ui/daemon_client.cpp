#include "ui/daemon_client.h"

#include "ui/wire.h"

#include <QJsonDocument>

namespace ui {

DaemonClient::DaemonClient(QString socketPath, QObject* parent)
    : QObject(parent), socketPath_(std::move(socketPath)), requests_(new QLocalSocket(this)),
      events_(new QLocalSocket(this)) {
    reconnect_.setInterval(1000);
    connect(&reconnect_, &QTimer::timeout, this, &DaemonClient::connectBoth);
    connect(requests_, &QLocalSocket::connected, this, [this] {
        connected_ = true;
        problem_.clear();
        reconnect_.stop();
        emit connectionChanged(true, tr("connected to %1").arg(socketPath_));
    });
    connect(events_, &QLocalSocket::connected, this, [this] {
        subscribed_ = false;
        events_->write(
            QJsonDocument(QJsonObject{{wire::kOp, wire::kOpSubscribe}}).toJson(QJsonDocument::Compact) +
            "\n");
    });
    connect(requests_, &QLocalSocket::readyRead, this, &DaemonClient::readReplies);
    connect(events_, &QLocalSocket::readyRead, this, &DaemonClient::readEvents);
    connect(requests_, &QLocalSocket::disconnected, this, [this] { lost(tr("the daemon went away")); });
    connect(requests_, &QLocalSocket::errorOccurred, this,
            [this](QLocalSocket::LocalSocketError error) { lost(explain(error, socketPath_)); });
    connect(events_, &QLocalSocket::disconnected, this, [this] { lost(tr("the daemon went away")); });
}

QString DaemonClient::explain(QLocalSocket::LocalSocketError error, const QString& socketPath) {
    switch (error) {
    case QLocalSocket::ServerNotFoundError:
    case QLocalSocket::ConnectionRefusedError:
        return tr("no streamchain daemon is running on %1; start it with `sudo systemctl start streamchain` "
                  "(or `sudo streamchain lab up` for the demo)")
            .arg(socketPath);
    case QLocalSocket::SocketAccessError:
        return tr("not allowed to use %1: the console's user must be in the streamchain group").arg(socketPath);
    case QLocalSocket::PeerClosedError:
        return tr("the daemon closed the connection");
    default:
        return tr("cannot reach the daemon on %1").arg(socketPath);
    }
}

void DaemonClient::start() { connectBoth(); }

void DaemonClient::connectBoth() {
    if (requests_->state() == QLocalSocket::UnconnectedState)
        requests_->connectToServer(socketPath_);
    if (events_->state() == QLocalSocket::UnconnectedState)
        events_->connectToServer(socketPath_);
}

void DaemonClient::lost(const QString& why) {
    if (losing_)
        return;
    losing_ = true;
    // A refusal line from the daemon says more than the socket error.
    const QString before = problem_;
    if (problem_.isEmpty() || !problem_.startsWith(tr("the daemon refused")))
        problem_ = why;
    std::deque<Reply> waiting;
    waiting.swap(pending_);
    replyBuffer_.clear();
    eventBuffer_.clear();
    requests_->abort();
    events_->abort();
    bool was = connected_;
    connected_ = false;
    for (auto& reply : waiting)
        if (reply)
            reply(QJsonObject{{wire::kOk, false}, {wire::kError, problem_}});
    if (was || !reconnect_.isActive() || problem_ != before)
        emit connectionChanged(false, problem_);
    if (!reconnect_.isActive()) {
        reconnect_.start();
        if (was) // try at once: a restarting daemon is back in moments, a stopped one says so now
            QTimer::singleShot(0, this, &DaemonClient::connectBoth);
    }
    losing_ = false;
}

void DaemonClient::request(const QJsonObject& request, Reply onReply) {
    if (!connected_) {
        if (onReply)
            onReply(QJsonObject{{wire::kOk, false},
                                {wire::kError, problem_.isEmpty() ? tr("not connected") : problem_}});
        return;
    }
    pending_.push_back(std::move(onReply));
    requests_->write(QJsonDocument(request).toJson(QJsonDocument::Compact) + "\n");
}

namespace {

// The complete JSON lines in `buffer`, leaving a partial last line there.
QList<QJsonObject> takeLines(QByteArray& buffer) {
    QList<QJsonObject> lines;
    qsizetype newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
        lines.append(QJsonDocument::fromJson(buffer.left(newline)).object());
        buffer.remove(0, newline + 1);
    }
    return lines;
}

} // namespace

void DaemonClient::readReplies() {
    replyBuffer_ += requests_->readAll();
    for (const QJsonObject& reply : takeLines(replyBuffer_)) {
        if (pending_.empty()) {
            // Unasked: the daemon refusing this peer before closing.
            problem_ = tr("the daemon refused the console: %1").arg(reply.value(wire::kError).toString());
            continue;
        }
        Reply handler = std::move(pending_.front());
        pending_.pop_front();
        if (handler)
            handler(reply);
    }
}

void DaemonClient::readEvents() {
    eventBuffer_ += events_->readAll();
    for (const QJsonObject& event : takeLines(eventBuffer_)) {
        if (!subscribed_) {
            subscribed_ = event.value(wire::kSubscribe).toBool();
            continue; // the subscription's own reply
        }
        emit eventReceived(event);
    }
}

} // namespace ui
