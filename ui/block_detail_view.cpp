#include "ui/block_detail_view.h"

#include "ui/format.h"
#include "ui/wire.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace ui {

BlockDetailView::BlockDetailView(QWidget* parent) : QTextBrowser(parent) {
    setPlaceholderText(tr("Select a block to see its header, signature and changed paths."));
    setOpenLinks(false);
}

void BlockDetailView::showLoading(qint64 height) { setHtml(tr("<p>Loading block %1…</p>").arg(height)); }

void BlockDetailView::showBlock(const QJsonObject& detail) {
    if (!detail.value(wire::kOk).toBool()) {
        setHtml("<p style='color:#c62828'>" + detail.value(wire::kError).toString().toHtmlEscaped() + "</p>");
        return;
    }
    QJsonObject header = detail.value(wire::kHeader).toObject();
    const bool valid = detail.value(wire::kSignatureValid).toBool();
    auto row = [](const QString& name, const QString& value) {
        return "<tr><td style='color:#555;padding-right:12px'>" + name + "</td><td>" + value + "</td></tr>";
    };
    QString html = "<h3>" + tr("Block %1").arg(detail.value(wire::kHeight).toInteger()) + "</h3><table>";
    html += row(tr("hash"), "<tt>" + detail.value(wire::kHash).toString() + "</tt>");
    html += row(tr("links to"), header.value(wire::kPrevious).toString().isEmpty()
                                    ? tr("(genesis)")
                                    : "<tt>" + header.value(wire::kPrevious).toString() + "</tt>");
    html += row(tr("content root"), "<tt>" + header.value(wire::kContentRoot).toString() + "</tt> (" +
                                        header.value(wire::kHashAlgorithm).toString() + ")");
    html += row(tr("time"), header.value(wire::kTimestamp).toString().toHtmlEscaped());
    html += row(tr("message"), header.value(wire::kMessage).toString().toHtmlEscaped());
    html += row(tr("signature"), valid ? "<span style='color:#2e7d32'>" + tr("valid (chain key)") + "</span>"
                                       : "<b style='color:#c62828'>" + tr("INVALID") + "</b>");
    html += row(tr("contents"), tr("%1 files, %2")
                                    .arg(detail.value(wire::kFiles).toInteger())
                                    .arg(formatBytes(detail.value(wire::kBytes).toDouble())));
    html += "</table>";
    QJsonArray operations = detail.value(wire::kOperations).toArray();
    if (!operations.isEmpty()) {
        html += "<h4>" + tr("Operations") + "</h4><ul>";
        for (const auto& op : operations)
            html += "<li><tt>" + QString::fromUtf8(QJsonDocument(op.toObject()).toJson(QJsonDocument::Compact))
                                     .toHtmlEscaped() +
                    "</tt></li>";
        html += "</ul>";
    }
    QJsonArray changes = detail.value(wire::kChanges).toArray();
    html += "<h4>" + tr("Changed paths (%1)").arg(changes.size()) + "</h4><table>";
    int shown = 0;
    for (const auto& c : changes) {
        if (++shown > 500) {
            html += row("…", tr("%1 more").arg(changes.size() - 500));
            break;
        }
        QJsonObject change = c.toObject();
        html += row(change.value(wire::kKind).toString(),
                    "<tt>" + change.value(wire::kPath).toString().toHtmlEscaped() + "</tt>");
    }
    html += "</table>";
    setHtml(html);
}

} // namespace ui
