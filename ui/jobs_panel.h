#pragma once
// Running and finished jobs with a progress bar each, rate, ETA, result, and a
// cancel button for the selected running job.
#include <QWidget>

QT_BEGIN_NAMESPACE
class QPushButton;
class QTableView;
QT_END_NAMESPACE

namespace ui {

class ConsoleSession;

class JobsPanel : public QWidget {
    Q_OBJECT
public:
    explicit JobsPanel(ConsoleSession& session, QWidget* parent = nullptr);

private:
    void updateCancel();
    ConsoleSession& session_;
    QTableView* table_;
    QPushButton* cancel_;
};

} // namespace ui
