#pragma once
// Add replica: the daemon's onboarding driven step by step. The operator gives
// the URL, key and relay; the daemon connects; an unknown host key is shown
// with its fingerprint and must be confirmed; then the path check, the agent
// deploy and the initial sync report as they happen; at the end the replica
// is registered and appears in the topology.
#include <QJsonObject>
#include <QWizard>

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
QT_END_NAMESPACE

namespace ui {

class ConsoleSession;

class TargetPage : public QWizardPage {
    Q_OBJECT
public:
    // keys: the names the daemon's key directory offers (operators may onboard with these only)
    TargetPage(const QStringList& relays, const QStringList& keys, const QString& keyDirectory, bool privileged,
               QWidget* parent = nullptr);
    QJsonObject request() const; // name, url, via, identity, compress, plain
    bool isComplete() const override;

    QLineEdit* name;
    QLineEdit* url;
    QComboBox* via;
    QLineEdit* identity;
    QComboBox* compress;
    QCheckBox* plain;
};

class OnboardPage : public QWizardPage {
    Q_OBJECT
public:
    OnboardPage(ConsoleSession& session, const TargetPage& target, QWidget* parent = nullptr);
    void initializePage() override;
    bool isComplete() const override { return succeeded_; }
    QString error() const { return error_; }          // the failed step's message
    QString fingerprint() const { return fingerprint_; } // shown for confirmation, if asked
    bool running() const { return job_ >= 0; }
    void acceptHostKey(); // what the confirm button does once the box is ticked

    QCheckBox* confirm;
    QPushButton* acceptButton;

private:
    void begin(const QString& acceptedFingerprint);
    void onJobEvent(const QJsonObject& event);

    ConsoleSession& session_;
    const TargetPage& target_;
    QListWidget* steps_;
    QProgressBar* sync_;
    QLabel* keyBox_;
    QLabel* error_label_;
    qint64 job_ = -1;
    bool succeeded_ = false;
    QString error_, fingerprint_;
    QList<QJsonObject> early_;
};

class AddReplicaWizard : public QWizard {
    Q_OBJECT
public:
    explicit AddReplicaWizard(ConsoleSession& session, QWidget* parent = nullptr);
    TargetPage* targetPage() const { return target_; }
    OnboardPage* onboardPage() const { return onboard_; }

private:
    TargetPage* target_;
    OnboardPage* onboard_;
};

} // namespace ui
