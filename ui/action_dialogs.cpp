#include "ui/action_dialogs.h"

#include "ui/wire.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace ui {

CommitDialog::CommitDialog(QWidget* parent)
    : QDialog(parent), message_(new QLineEdit(this)), operations_(new QPlainTextEdit(this)), problem_(new QLabel(this)) {
    setWindowTitle(tr("Commit block"));
    message_->setPlaceholderText(tr("what changed, for the log"));
    operations_->setPlaceholderText(tr(R"({"op": "set", "element": "port:eth0", "mtu": 9000})"));
    operations_->setMinimumHeight(110);
    problem_->setStyleSheet("color:#c62828");
    problem_->setWordWrap(true);
    auto* form = new QFormLayout;
    form->addRow(tr("Message"), message_);
    form->addRow(tr("Operations\n(one JSON object\nper line)"), operations_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Commit"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("The daemon snapshots the working data as the next signed block."), this));
    layout->addLayout(form);
    layout->addWidget(problem_);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        if (validate())
            accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    resize(520, 300);
}

QString CommitDialog::message() const { return message_->text().trimmed(); }

QJsonArray CommitDialog::operations() const {
    QJsonArray ops;
    for (const QString& line : operations_->toPlainText().split('\n', Qt::SkipEmptyParts))
        ops.append(QJsonDocument::fromJson(line.trimmed().toUtf8()).object());
    return ops;
}

QStringList CommitDialog::elements() const {
    QStringList elements;
    for (const auto& op : operations())
        if (op.toObject().contains(wire::kElement) &&
            !elements.contains(op.toObject().value(wire::kElement).toString()))
            elements << op.toObject().value(wire::kElement).toString();
    return elements;
}

bool CommitDialog::validate() {
    int number = 0;
    for (const QString& line : operations_->toPlainText().split('\n')) {
        ++number;
        if (line.trimmed().isEmpty())
            continue;
        QJsonParseError error{};
        QJsonDocument doc = QJsonDocument::fromJson(line.trimmed().toUtf8(), &error);
        if (error.error != QJsonParseError::NoError || !doc.isObject()) {
            problem_->setText(tr("Line %1 is not a JSON object: %2").arg(number).arg(error.errorString()));
            return false;
        }
    }
    if (message().isEmpty() && operations().isEmpty()) {
        problem_->setText(tr("Give a message or at least one operation."));
        return false;
    }
    return true;
}

StreamDialog::StreamDialog(const QStringList& replicas, qint64 tip, QWidget* parent)
    : QDialog(parent), replicas_(new QListWidget(this)), other_(new QLineEdit(this)), mode_(new QComboBox(this)),
      compress_(new QCheckBox(tr("zstd, level"), this)), level_(new QSpinBox(this)), upto_(new QSpinBox(this)),
      problem_(new QLabel(this)) {
    setWindowTitle(tr("Stream blocks"));
    for (const QString& name : replicas) {
        auto* item = new QListWidgetItem(name, replicas_);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(Qt::Unchecked);
    }
    replicas_->setMaximumHeight(120);
    other_->setPlaceholderText(tr("another target: /path on btrfs or ssh://user@host/path (optional)"));
    mode_->addItem(tr("auto (incremental from the newest common block)"), "auto");
    mode_->addItem(tr("full"), "full");
    mode_->addItem(tr("incremental only"), "incremental");
    level_->setRange(1, 19);
    level_->setValue(3);
    level_->setEnabled(false);
    connect(compress_, &QCheckBox::toggled, level_, &QSpinBox::setEnabled);
    upto_->setRange(0, static_cast<int>(std::max<qint64>(tip, 0)));
    upto_->setValue(upto_->maximum());
    upto_->setPrefix(tr("block "));
    problem_->setStyleSheet("color:#c62828");
    auto* compression = new QHBoxLayout;
    compression->addWidget(compress_);
    compression->addWidget(level_);
    compression->addStretch();
    auto* form = new QFormLayout;
    form->addRow(tr("Replicas\n(several: fan-out\nfrom one read)"), replicas_);
    form->addRow(tr("Other target"), other_);
    form->addRow(tr("Mode"), mode_);
    form->addRow(tr("Compression"), compression);
    form->addRow(tr("Up to"), upto_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Stream"));
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(problem_);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        if (choice().targets.isEmpty()) {
            problem_->setText(tr("Choose at least one replica or give a target."));
            return;
        }
        accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    resize(560, 360);
}

void StreamDialog::setChecked(const QStringList& names) {
    for (int i = 0; i < replicas_->count(); ++i)
        replicas_->item(i)->setCheckState(names.contains(replicas_->item(i)->text()) ? Qt::Checked : Qt::Unchecked);
}

StreamChoice StreamDialog::choice() const {
    StreamChoice choice;
    for (int i = 0; i < replicas_->count(); ++i)
        if (replicas_->item(i)->checkState() == Qt::Checked)
            choice.targets << replicas_->item(i)->text();
    if (!other_->text().trimmed().isEmpty())
        choice.targets << other_->text().trimmed();
    choice.mode = mode_->currentData().toString();
    if (compress_->isChecked())
        choice.compress = QString("zstd:%1").arg(level_->value());
    if (upto_->value() < upto_->maximum())
        choice.upto = upto_->value();
    return choice;
}

} // namespace ui
