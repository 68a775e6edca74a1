#pragma once
// The console's only way to the engine: the daemon's control socket
// (docs/control-protocol.md). One connection carries requests and their replies
// in order; a second one is subscribed to events. Both reconnect by themselves
// when the daemon restarts, and say why when it cannot be reached.
#include <QJsonObject>
#include <QLocalSocket>
#include <QObject>
#include <QTimer>
#include <deque>
#include <functional>

namespace ui {

class DaemonClient : public QObject {
    Q_OBJECT
public:
    using Reply = std::function<void(const QJsonObject& reply)>; // reply["ok"] false: reply["error"] says why

    explicit DaemonClient(QString socketPath, QObject* parent = nullptr);
    void start(); // connect now, and again every second while the daemon is away
    bool isConnected() const { return connected_; }
    const QString& socketPath() const { return socketPath_; }
    const QString& problem() const { return problem_; } // why it is not connected

    // Without a connection the reply comes at once, with ok false.
    void request(const QJsonObject& request, Reply onReply = {});

signals:
    void connectionChanged(bool connected, const QString& detail);
    void eventReceived(const QJsonObject& event);

private:
    void connectBoth();
    void lost(const QString& why);
    void readReplies();
    void readEvents();
    static QString explain(QLocalSocket::LocalSocketError error, const QString& socketPath);

    QString socketPath_;
    QLocalSocket* requests_;
    QLocalSocket* events_;
    QTimer reconnect_;
    QByteArray replyBuffer_, eventBuffer_;
    std::deque<Reply> pending_;
    bool connected_ = false;
    bool subscribed_ = false;
    bool losing_ = false; // abort() below reports the disconnect again
    QString problem_;
};

} // namespace ui
