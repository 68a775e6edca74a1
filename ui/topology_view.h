#pragma once
// Primary and replicas as a graph: replicas fed by the primary hang off it,
// relayed ones off their relay, so relay chains read left to right. Each node
// shows height, lag and health by colour and text; each edge its current rate.
#include <QGraphicsView>
#include <QHash>

#include "ui/replica_model.h"

namespace ui {

class TopologyView : public QGraphicsView {
    Q_OBJECT
public:
    explicit TopologyView(const ReplicaModel& replicas, QWidget* parent = nullptr);
    void setPrimary(const QString& name, qint64 tip);
    void setEdgeRate(const QString& replica, double bytesPerSecond);
    int nodeCount() const { return static_cast<int>(nodes_.size()); }
    QString nodeText(const QString& name) const; // what a node says (tests read it)

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void rebuild();
    void refresh();

    struct Node {
        QGraphicsRectItem* box = nullptr;
        QGraphicsTextItem* text = nullptr;
        QGraphicsLineItem* edge = nullptr;
        QGraphicsTextItem* edgeText = nullptr;
    };
    const ReplicaModel& replicas_;
    QGraphicsScene scene_;
    QHash<QString, Node> nodes_; // "" is the primary
    QHash<QString, double> rates_;
    QString primaryName_ = "primary";
    qint64 tip_ = -1;
};

} // namespace ui
