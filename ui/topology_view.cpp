#include "ui/topology_view.h"

#include "ui/format.h"

#include <QBrush>
#include <QGraphicsRectItem>
#include <QGraphicsTextItem>
#include <QPen>
#include <QResizeEvent>

namespace ui {

namespace {
constexpr double kNodeWidth = 170, kNodeHeight = 64, kColumn = 230, kRow = 84;
}

TopologyView::TopologyView(const ReplicaModel& replicas, QWidget* parent)
    : QGraphicsView(parent), replicas_(replicas) {
    setScene(&scene_);
    setRenderHint(QPainter::Antialiasing);
    setMinimumHeight(160);
    connect(&replicas_, &ReplicaModel::topologyChanged, this, &TopologyView::rebuild);
    connect(&replicas_, &ReplicaModel::dataChanged, this, &TopologyView::refresh);
    connect(&replicas_, &ReplicaModel::modelReset, this, &TopologyView::rebuild);
    rebuild();
}

void TopologyView::setPrimary(const QString& name, qint64 tip) {
    if (name == primaryName_ && tip == tip_)
        return;
    primaryName_ = name;
    tip_ = tip;
    refresh();
}

void TopologyView::setEdgeRate(const QString& replica, double bytesPerSecond) {
    rates_[replica] = bytesPerSecond;
    auto node = nodes_.find(replica);
    if (node != nodes_.end() && node->edgeText)
        node->edgeText->setPlainText(bytesPerSecond > 0 ? formatRate(bytesPerSecond) : QString());
}

QString TopologyView::nodeText(const QString& name) const {
    auto node = nodes_.find(name);
    return node == nodes_.end() ? QString() : node->text->toPlainText();
}

void TopologyView::rebuild() {
    scene_.clear();
    nodes_.clear();
    // Depth of each replica: 1 below the primary, one more per relay.
    QHash<QString, int> depth;
    const auto& rows = replicas_.rows();
    for (std::size_t pass = 0; pass <= rows.size(); ++pass)
        for (const auto& r : rows) {
            if (r.via.isEmpty())
                depth[r.name] = 1;
            else if (depth.contains(r.via))
                depth[r.name] = depth[r.via] + 1;
        }
    QHash<int, int> used; // nodes placed per column
    auto place = [&](const QString& key, int column) {
        QPointF at(column * kColumn, used[column]++ * kRow);
        Node node;
        node.box = scene_.addRect(QRectF(at, QSizeF(kNodeWidth, kNodeHeight)), QPen(Qt::black, 1.2));
        node.text = scene_.addText({});
        node.text->setPos(at + QPointF(6, 4));
        node.text->setTextWidth(kNodeWidth - 12);
        nodes_.insert(key, node);
    };
    place({}, 0);
    for (const auto& r : rows)
        place(r.name, depth.value(r.name, 1));
    for (const auto& r : rows) {
        const Node& from = nodes_[r.via.isEmpty() ? QString() : r.via];
        Node& to = nodes_[r.name];
        QPointF a = from.box->rect().center() + QPointF(kNodeWidth / 2, 0);
        QPointF b = to.box->rect().center() - QPointF(kNodeWidth / 2, 0);
        to.edge = scene_.addLine(QLineF(a, b), QPen(QColor(0x60, 0x60, 0x60), 2));
        to.edgeText = scene_.addText({});
        to.edgeText->setPos((a + b) / 2 - QPointF(30, 22));
        to.edgeText->setDefaultTextColor(QColor(0x15, 0x65, 0xc0));
    }
    refresh();
    for (auto it = rates_.constBegin(); it != rates_.constEnd(); ++it)
        setEdgeRate(it.key(), it.value());
    fitInView(scene_.itemsBoundingRect().adjusted(-10, -10, 10, 10), Qt::KeepAspectRatio);
}

void TopologyView::refresh() {
    auto primary = nodes_.find({});
    if (primary != nodes_.end()) {
        primary->text->setPlainText(primaryName_ + "\n" + tr("tip %1").arg(tip_ < 0 ? QString("-") : QString::number(tip_)));
        primary->box->setBrush(QColor(0xe3, 0xf2, 0xfd));
    }
    for (const auto& r : replicas_.rows()) {
        auto node = nodes_.find(r.name);
        if (node == nodes_.end())
            continue;
        QString health = r.health();
        QString lag = r.behind ? tr("%1 behind, lag %2").arg(r.behind).arg(formatDuration(r.lag)) : tr("up to date");
        node->text->setPlainText(r.name + "  [" + health + "]\n" +
                                 tr("height %1").arg(r.height < 0 ? QString("-") : QString::number(r.height)) + "\n" +
                                 lag);
        QColor fill = healthColour(health);
        fill.setAlpha(60);
        node->box->setBrush(fill);
        node->box->setPen(QPen(healthColour(health), 2));
        node->box->setToolTip(r.url + (r.lastError.isEmpty() ? QString() : "\n" + r.lastError));
    }
}

void TopologyView::resizeEvent(QResizeEvent* event) {
    QGraphicsView::resizeEvent(event);
    fitInView(scene_.itemsBoundingRect().adjusted(-10, -10, 10, 10), Qt::KeepAspectRatio);
}

} // namespace ui
