// Which block goes where with which parent: fan-out grouping, gap repair, --full, --upto.
#include "core/replication/send_plan.h"

#include <QTest>

using namespace sc;

namespace {
std::string describe(const std::vector<SendStep>& steps) {
    std::string out;
    for (const auto& s : steps) {
        out += std::to_string(s.height) + "<" + (s.parent ? std::to_string(*s.parent) : std::string("full")) + ":";
        for (auto t : s.targets)
            out += std::to_string(t);
        out += " ";
    }
    return out;
}
} // namespace

class TestSendPlan : public QObject {
    Q_OBJECT
private slots:
    void emptyTargetsGetFullThenIncrementalTogether() {
        auto steps = planSends({0, 1, 2}, {{}, {}, {}}, 2, false);
        QCOMPARE(describe(steps), std::string("0<full:012 1<0:012 2<1:012 "));
    }
    void targetsAtDifferentHeightsConverge() {
        auto steps = planSends({0, 1, 2, 3}, {{0, 1, 2}, {0}}, 3, false);
        QCOMPARE(describe(steps), std::string("1<0:1 2<1:1 3<2:01 "));
    }
    void gapsAreRepairedFromTheNewestLowerBlock() {
        auto steps = planSends({0, 1, 2, 3}, {{0, 3}}, 3, false);
        QCOMPARE(describe(steps), std::string("1<0:0 2<1:0 "));
    }
    void fullNeverUsesParents() {
        auto steps = planSends({0, 1}, {{0}}, 1, true);
        QCOMPARE(describe(steps), std::string("1<full:0 "));
    }
    void uptoStopsEarly() {
        auto steps = planSends({0, 1, 2, 3}, {{}}, 1, false);
        QCOMPARE(describe(steps), std::string("0<full:0 1<0:0 "));
    }
    void upToDateTargetNeedsNothing() { QVERIFY(planSends({0, 1}, {{0, 1}}, 1, false).empty()); }
};

QTEST_APPLESS_MAIN(TestSendPlan)
#include "test_send_plan.moc"
