// The daemon's status as Prometheus text: one HELP/TYPE per family, one sample per
// replica with chain and replica labels, label values escaped.
#include "core/daemon/metrics.h"

#include <QTest>

using namespace sc;

class TestMetrics : public QObject {
    Q_OBJECT
private slots:
    void statusBecomesLabelledSamples() {
        nlohmann::json status = {
            {"chains",
             {{{"path", "/srv/ledger"},
               {"tip", 7},
               {"replicas",
                {{{"name", "r1"}, {"phase", "in-sync"}, {"height", 7}, {"blocks_behind", 0}, {"lag_seconds", 0.0},
                  {"bytes_sent", 1000}, {"resumed_bytes", 0}, {"rate", 5.5}, {"failures", 0}},
                 {{"name", "r\"2"}, {"phase", "retrying"}, {"height", nullptr}, {"blocks_behind", 8},
                  {"lag_seconds", 12.5}, {"bytes_sent", 0}, {"resumed_bytes", 300}, {"rate", 0.0},
                  {"failures", 3}}}}}}}};
        std::string text = prometheusText(status);
        auto has = [&](const std::string& line) { return text.find(line + "\n") != std::string::npos; };
        QVERIFY2(has("streamchain_chain_tip_height{chain=\"/srv/ledger\"} 7"), text.c_str());
        QVERIFY2(has("streamchain_replica_height{chain=\"/srv/ledger\",replica=\"r1\"} 7"), text.c_str());
        QVERIFY2(has("streamchain_replica_height{chain=\"/srv/ledger\",replica=\"r\\\"2\"} -1"), text.c_str());
        QVERIFY2(has("streamchain_replica_in_sync{chain=\"/srv/ledger\",replica=\"r1\"} 1"), text.c_str());
        QVERIFY2(has("streamchain_replica_in_sync{chain=\"/srv/ledger\",replica=\"r\\\"2\"} 0"), text.c_str());
        QVERIFY2(has("streamchain_replica_lag_seconds{chain=\"/srv/ledger\",replica=\"r\\\"2\"} 12.5"), text.c_str());
        QVERIFY2(has("streamchain_replica_resumed_bytes_total{chain=\"/srv/ledger\",replica=\"r\\\"2\"} 300"),
                 text.c_str());
        QVERIFY2(has("# TYPE streamchain_replica_sent_bytes_total counter"), text.c_str());
        // Every family is announced once, samples or not.
        QCOMPARE(static_cast<int>(std::count(text.begin(), text.end(), '#')), 18);
    }
    void anEmptyStatusStillDescribesTheFamilies() {
        std::string text = prometheusText({{"chains", nlohmann::json::array()}});
        QVERIFY(text.find("# HELP streamchain_replica_height") != std::string::npos);
        QVERIFY(text.find("streamchain_replica_height{") == std::string::npos);
    }
};

QTEST_APPLESS_MAIN(TestMetrics)
#include "test_metrics.moc"
