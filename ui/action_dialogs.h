#pragma once
// The small dialogs behind the console's actions: commit a block, and stream
// blocks to chosen replicas. Each only collects and checks what the operator
// wants; the main window sends it to the daemon.
#include <QDialog>
#include <QJsonArray>
#include <optional>

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QSpinBox;
QT_END_NAMESPACE

namespace ui {

class CommitDialog : public QDialog {
    Q_OBJECT
public:
    explicit CommitDialog(QWidget* parent = nullptr);
    QString message() const;
    QJsonArray operations() const; // one JSON object per line of the operations box
    QStringList elements() const;  // the operations' "element" values

private:
    bool validate();
    QLineEdit* message_;
    QPlainTextEdit* operations_;
    QLabel* problem_;
};

struct StreamChoice {
    QStringList targets;
    QString mode = "auto"; // auto, full, incremental
    QString compress;      // "" or "zstd:L"
    std::optional<qint64> upto;
};

class StreamDialog : public QDialog {
    Q_OBJECT
public:
    StreamDialog(const QStringList& replicas, qint64 tip, QWidget* parent = nullptr);
    StreamChoice choice() const;
    void setChecked(const QStringList& replicas); // preselect (tests, and the selected replica)

private:
    QListWidget* replicas_;
    QLineEdit* other_;
    QComboBox* mode_;
    QCheckBox* compress_;
    QSpinBox* level_;
    QSpinBox* upto_;
    QLabel* problem_;
};

} // namespace ui
