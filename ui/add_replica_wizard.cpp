#include "ui/add_replica_wizard.h"

#include "ui/console_session.h"
#include "ui/format.h"
#include "ui/wire.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCompleter>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace ui {

TargetPage::TargetPage(const QStringList& relays, const QStringList& keys, const QString& keyDirectory,
                       bool privileged, QWidget* parent)
    : QWizardPage(parent), name(new QLineEdit(this)), url(new QLineEdit(this)), via(new QComboBox(this)),
      identity(new QLineEdit(this)), compress(new QComboBox(this)), plain(new QCheckBox(this)) {
    setTitle(tr("Where is the new replica?"));
    setSubTitle(tr("The daemon connects, checks the host key and the path, deploys the agent if needed, sends "
                   "every block, and registers the replica. Nothing changes in the chain's configuration "
                   "unless every step succeeds."));
    name->setPlaceholderText(tr("r4"));
    url->setPlaceholderText(tr("ssh://root@host:22/srv/replica"));
    via->addItem(tr("the primary (direct)"), QString());
    for (const QString& relay : relays)
        via->addItem(tr("relay %1").arg(relay), relay);
    // Operators may onboard only with the keys root placed in the daemon's key directory.
    identity->setPlaceholderText(keys.isEmpty() ? tr("key name") : tr("key name, e.g. %1").arg(keys.first()));
    identity->setCompleter(new QCompleter(keys, identity));
    auto* keyHint = new QLabel(this);
    keyHint->setWordWrap(true);
    keyHint->setStyleSheet("color:palette(mid)");
    const QString offered = keys.isEmpty() ? tr("none yet") : keys.join(", ");
    keyHint->setText(privileged ? tr("Keys in %1: %2. As root you may also give any key file, or none for "
                                     "root's ssh-agent and ~/.ssh.")
                                      .arg(keyDirectory, offered)
                                : tr("Keys in %1: %2. Operators onboard only with these (none given: its "
                                     "\"default\" key).")
                                      .arg(keyDirectory, offered));
    compress->addItem(tr("off"), QString());
    compress->addItem(tr("zstd level 3"), "zstd:3");
    compress->addItem(tr("zstd level 9"), "zstd:9");
    plain->setText(tr("no agent on the host: plain btrfs receive (contents cannot be re-hashed there)"));
    auto* form = new QFormLayout(this);
    form->addRow(tr("Name"), name);
    form->addRow(tr("URL"), url);
    form->addRow(tr("Fed by"), via);
    form->addRow(tr("SSH key"), identity);
    form->addRow(QString(), keyHint);
    form->addRow(tr("Compression"), compress);
    form->addRow(QString(), plain);
    connect(name, &QLineEdit::textChanged, this, &QWizardPage::completeChanged);
    connect(url, &QLineEdit::textChanged, this, &QWizardPage::completeChanged);
}

bool TargetPage::isComplete() const {
    static const QRegularExpression validName("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$");
    return validName.match(name->text()).hasMatch() && url->text().startsWith("ssh://");
}

QJsonObject TargetPage::request() const {
    QJsonObject request{{wire::kName, name->text().trimmed()},
                        {wire::kUrl, url->text().trimmed()},
                        {wire::kCompress, compress->currentData().toString()},
                        {wire::kPlain, plain->isChecked()}};
    if (!via->currentData().toString().isEmpty())
        request[wire::kVia] = via->currentData().toString();
    if (!identity->text().trimmed().isEmpty())
        request[wire::kIdentity] = identity->text().trimmed();
    return request;
}

OnboardPage::OnboardPage(ConsoleSession& session, const TargetPage& target, QWidget* parent)
    : QWizardPage(parent), confirm(new QCheckBox(this)), acceptButton(new QPushButton(tr("Accept key and continue"), this)),
      session_(session), target_(target), steps_(new QListWidget(this)), sync_(new QProgressBar(this)),
      keyBox_(new QLabel(this)), error_label_(new QLabel(this)) {
    setTitle(tr("Onboarding"));
    setSubTitle(tr("Each step as the daemon reports it."));
    sync_->setRange(0, 1000);
    sync_->setFormat(tr("initial sync %p%"));
    sync_->hide();
    keyBox_->setWordWrap(true);
    keyBox_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    keyBox_->hide();
    confirm->setText(tr("I have checked this fingerprint against the host (e.g. ssh-keygen -lf on it)"));
    confirm->hide();
    acceptButton->hide();
    acceptButton->setEnabled(false);
    error_label_->setWordWrap(true);
    error_label_->setStyleSheet("color:#c62828");
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(steps_, 1);
    layout->addWidget(sync_);
    layout->addWidget(keyBox_);
    layout->addWidget(confirm);
    layout->addWidget(acceptButton, 0, Qt::AlignLeft);
    layout->addWidget(error_label_);
    connect(confirm, &QCheckBox::toggled, acceptButton, &QPushButton::setEnabled);
    connect(acceptButton, &QPushButton::clicked, this, &OnboardPage::acceptHostKey);
    connect(&session_, &ConsoleSession::jobEvent, this, &OnboardPage::onJobEvent);
}

void OnboardPage::initializePage() { begin({}); }

void OnboardPage::acceptHostKey() {
    if (confirm->isChecked() && !fingerprint_.isEmpty())
        begin(fingerprint_);
}

void OnboardPage::begin(const QString& acceptedFingerprint) {
    steps_->clear();
    sync_->hide();
    keyBox_->hide();
    confirm->hide();
    confirm->setChecked(false);
    acceptButton->hide();
    error_label_->clear();
    error_.clear();
    succeeded_ = false;
    emit completeChanged();
    QJsonObject request = target_.request();
    if (!acceptedFingerprint.isEmpty())
        request[wire::kAcceptHostKey] = acceptedFingerprint;
    steps_->addItem(tr("asking the daemon to onboard %1…").arg(request.value(wire::kName).toString()));
    job_ = -1;
    session_.addReplica(request, [this](const QJsonObject& reply) {
        if (!reply.value(wire::kOk).toBool()) {
            error_ = reply.value(wire::kError).toString();
            error_label_->setText(error_);
            return;
        }
        job_ = reply.value(wire::kJob).toInteger();
        QList<QJsonObject> early;
        early.swap(early_);
        for (const auto& event : early)
            onJobEvent(event);
    });
}

void OnboardPage::onJobEvent(const QJsonObject& event) {
    if (event.value(wire::kKind).toString() != wire::kOpReplicaAdd)
        return;
    if (job_ < 0) {
        if (early_.size() < 1000)
            early_.append(event); // arrived before the reply with the job's id
        return;
    }
    if (event.value(wire::kJob).toInteger() != job_)
        return;
    if (event.value(wire::kEvent).toString() == wire::kEventJobProgress) {
        QJsonObject p = event.value(wire::kProgress).toObject();
        if (p.contains(wire::kBytesTotal)) {
            sync_->show();
            double total = p.value(wire::kBytesTotal).toDouble();
            sync_->setValue(total > 0 ? static_cast<int>(1000 * p.value(wire::kBytesDone).toDouble() / total)
                                      : 0);
            sync_->setFormat(tr("initial sync %p% (%1)").arg(formatRate(p.value(wire::kRate).toDouble())));
            return;
        }
        QString step = p.value(wire::kStep).toString();
        if (p.value(wire::kState).toString() == wire::kStepStateDone)
            steps_->addItem(QString::fromUtf8("\u2714 ") + step + ": " + p.value(wire::kDetail).toString());
        else
            steps_->addItem(QString::fromUtf8("\u2026 ") + step);
        steps_->scrollToBottom();
        return;
    }
    // job_done
    job_ = -1;
    if (event.value(wire::kOk).toBool()) {
        succeeded_ = true;
        sync_->setValue(1000);
        steps_->addItem(QString::fromUtf8("\u2714 ") +
                        tr("%1 is registered").arg(target_.request().value(wire::kName).toString()));
        emit completeChanged();
        return;
    }
    error_ = event.value(wire::kError).toString();
    steps_->addItem(QString::fromUtf8("\u2716 ") + error_);
    steps_->scrollToBottom();
    QJsonObject hostKey = event.value(wire::kDetail).toObject().value(wire::kHostKey).toObject();
    if (!hostKey.isEmpty()) {
        fingerprint_ = hostKey.value(wire::kFingerprint).toString();
        keyBox_->setText(
            tr("<b>The host's key is not known yet.</b><br>%1 key fingerprint:<br><tt>%2</tt><br>"
               "Accept it only if it is the fingerprint the host itself shows.")
                .arg(hostKey.value(wire::kType).toString(), fingerprint_));
        keyBox_->show();
        confirm->show();
        acceptButton->show();
        return;
    }
    error_label_->setText(tr("Failed: %1\nGo back to change the details, or fix the host and try again.").arg(error_));
}

AddReplicaWizard::AddReplicaWizard(ConsoleSession& session, QWidget* parent) : QWizard(parent) {
    setWindowTitle(tr("Add replica"));
    QStringList relays;
    for (const auto& r : session.replicas().rows())
        relays << r.name;
    target_ = new TargetPage(relays, session.onboardingKeys(), session.keyDirectory(), session.privileged(), this);
    onboard_ = new OnboardPage(session, *target_, this);
    addPage(target_);
    addPage(onboard_);
    setOption(QWizard::NoCancelButtonOnLastPage, false);
    resize(640, 480);
}

} // namespace ui
