#pragma once
// The selected block in full: header fields, signature state, operations and
// the paths it changed, as the daemon's `show` reports them.
#include <QJsonObject>
#include <QTextBrowser>

namespace ui {

class BlockDetailView : public QTextBrowser {
    Q_OBJECT
public:
    explicit BlockDetailView(QWidget* parent = nullptr);
    void showLoading(qint64 height);
    void showBlock(const QJsonObject& detail); // a `show` reply
};

} // namespace ui
