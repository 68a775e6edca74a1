// Which connection carries a stream to which targets: direct targets get their
// own, targets behind relays ride on their outermost relay's stream with the
// hop URLs from there.
#include "core/replication/stream_routes.h"

#include <QTest>

using namespace sc;

namespace {

TargetRef ssh(const std::string& name, const std::string& host, std::vector<TargetRef> relays = {}) {
    TargetRef ref;
    ref.spec = parseTargetSpec("ssh://root@" + host + "/srv/replica");
    ref.spec.text = name;
    ref.relays = std::move(relays);
    return ref;
}

std::string describe(const std::vector<StreamRoute>& routes) {
    std::string out;
    for (const auto& route : routes) {
        out += route.entry.spec.text + (route.own ? "*" : "") + "[";
        for (const auto& rider : route.riders) {
            out += std::to_string(rider.target) + ":";
            for (const auto& hop : rider.route)
                out += hop.substr(std::string("ssh://root@").size(), 2) + ">";
            out += " ";
        }
        out += "] ";
    }
    return out;
}

} // namespace

class TestStreamRoutes : public QObject {
    Q_OBJECT
private slots:
    void directTargetsEachGetTheirOwnStream() {
        std::vector<TargetRef> targets{ssh("a", "h1"), ssh("b", "h2")};
        QCOMPARE(describe(routeStream(targets, {0, 1})), std::string("a*[] b*[] "));
    }
    void aRelayThatReceivesCarriesItsDownstream() {
        TargetRef r1 = ssh("r1", "h1");
        std::vector<TargetRef> targets{ssh("r2", "h2", {r1}), r1};
        // r2 is listed first: the stream still enters at r1, which keeps the blocks too.
        QCOMPARE(describe(routeStream(targets, {0, 1})), std::string("r1*[0:h2> ] "));
    }
    void nestedRelaysShareTheOutermostStream() {
        TargetRef r1 = ssh("r1", "h1");
        TargetRef r2 = ssh("r2", "h2", {r1});
        std::vector<TargetRef> targets{r1, r2, ssh("r3", "h3", {r1, r2})};
        QCOMPARE(describe(routeStream(targets, {0, 1, 2})), std::string("r1*[1:h2> 2:h2>h3> ] "));
    }
    void aRelayThatHoldsTheBlockOnlyPassesItOn() {
        TargetRef r1 = ssh("r1", "h1");
        std::vector<TargetRef> targets{r1, ssh("r2", "h2", {r1})};
        QCOMPARE(describe(routeStream(targets, {1})), std::string("r1[1:h2> ] "));
    }
    void failedTargetsAreLeftOutByTheCaller() {
        TargetRef r1 = ssh("r1", "h1");
        std::vector<TargetRef> targets{r1, ssh("r2", "h2", {r1}), ssh("d", "h9")};
        QCOMPARE(describe(routeStream(targets, {2})), std::string("d*[] "));
    }
};

QTEST_APPLESS_MAIN(TestStreamRoutes)
#include "test_stream_routes.moc"
