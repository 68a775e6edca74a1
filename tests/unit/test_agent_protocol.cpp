// The agent protocol's version negotiation and trailer checksums (docs/agent-protocol.md):
// which version two peers agree on, and which checksums a stream's trailer carries.
#include "core/agent/agent_protocol.h"
#include "core/base/error.h"

#include <QTest>
#include <cstdlib>

using namespace sc;
using nlohmann::json;

class TestAgentProtocol : public QObject {
    Q_OBJECT
private slots:
    void senderHelloStaysReadableByVersionOne() {
        QVERIFY(helloVersions(1) == (json{{"protocol", 1}})); // exactly what a version-1 sender says
        QVERIFY(helloVersions(2) == (json{{"protocol", 1}, {"protocols", {1, 2}}}));
    }

    // Versions are unsigned integers, as a parsed hello holds them (hence the `u`s).
    void agentPicksTheHighestCommonVersion() {
        QCOMPARE(negotiateAgentProtocol(helloVersions(2), 2), std::optional<std::uint32_t>(2));
        QCOMPARE(negotiateAgentProtocol(helloVersions(2), 1), std::optional<std::uint32_t>(1)); // an agent capped at 1
        QCOMPARE(negotiateAgentProtocol(json{{"protocol", 1u}}, 2), std::optional<std::uint32_t>(1)); // an old sender
        QCOMPARE(negotiateAgentProtocol(json{{"protocol", 2u}}, 2), std::optional<std::uint32_t>(2));
        // A future sender offering versions this agent does not know yet.
        QCOMPARE(negotiateAgentProtocol(json{{"protocol", 1u}, {"protocols", {1u, 2u, 3u, 7u}}}, 2),
                 std::optional<std::uint32_t>(2));
    }

    void noCommonVersionIsNothing() {
        QCOMPARE(negotiateAgentProtocol(json{{"protocol", 3u}}, 2), std::nullopt);
        QCOMPARE(negotiateAgentProtocol(json{{"protocol", 0u}}, 2), std::nullopt);
        QCOMPARE(negotiateAgentProtocol(json{{"protocol", 2u}}, 1), std::nullopt);
        QCOMPARE(negotiateAgentProtocol(json{{"protocol", (std::uint64_t{1} << 32) | 1}}, 2), std::nullopt);
    }

    void malformedVersionFieldsThrow() {
        QVERIFY_THROWS_EXCEPTION(Error, negotiateAgentProtocol(json::object(), 2));
        QVERIFY_THROWS_EXCEPTION(Error, negotiateAgentProtocol(json{{"protocol", 1.0}}, 2));
        QVERIFY_THROWS_EXCEPTION(Error, negotiateAgentProtocol(json{{"protocol", "1"}}, 2));
        QVERIFY_THROWS_EXCEPTION(Error, negotiateAgentProtocol(json{{"protocol", -1}}, 2));
        QVERIFY_THROWS_EXCEPTION(Error, negotiateAgentProtocol(json{{"protocol", 1u}, {"protocols", 2u}}, 2));
        QVERIFY_THROWS_EXCEPTION(Error, negotiateAgentProtocol(json{{"protocol", 1u}, {"protocols", {1u, "2"}}}, 2));
    }

    void eachVersionHasItsChecksum() {
        QCOMPARE(transferChecksumOf(1), TransferChecksum::Sha256);
        QCOMPARE(transferChecksumOf(2), TransferChecksum::Xxh3);
        QCOMPARE(std::string(trailerChecksumKey(TransferChecksum::Sha256)), std::string("raw_sha256"));
        QCOMPARE(std::string(trailerChecksumKey(TransferChecksum::Xxh3)), std::string("raw_xxh3"));
    }

    void readyRepliesNameTheTrailerChecksums() {
        // A version-1 agent's answer has no list: it checks SHA-256.
        TransferChecksums v1 = trailerChecksumsOf(json{{"ready", true}, {"resume_from", 0}});
        QVERIFY(v1.sha256 && !v1.xxh3);
        TransferChecksums both;
        both.add(TransferChecksum::Sha256).add(TransferChecksum::Xxh3);
        json ready = {{"ready", true}, {"trailer_checksums", trailerChecksumsToWire(both)}};
        TransferChecksums parsed = trailerChecksumsOf(ready);
        QVERIFY(parsed.sha256 && parsed.xxh3);
        QVERIFY(!trailerChecksumsOf(json{{"trailer_checksums", json::array()}}).any()); // a relay feeding no one
        QVERIFY_THROWS_EXCEPTION(Error, trailerChecksumsOf(json{{"trailer_checksums", {"raw_md5"}}}));
        QVERIFY_THROWS_EXCEPTION(Error, trailerChecksumsOf(json{{"trailer_checksums", "raw_xxh3"}}));
    }

    void testHookCapsTheNewestVersion() {
        QCOMPARE(agentProtocolNewest(), kAgentProtocolVersion);
        ::setenv("STREAMCHAIN_AGENT_MAX_PROTOCOL", "1", 1);
        QCOMPARE(agentProtocolNewest(), std::uint32_t{1});
        ::setenv("STREAMCHAIN_AGENT_MAX_PROTOCOL", "9", 1);
        QVERIFY_THROWS_EXCEPTION(Error, agentProtocolNewest());
        ::unsetenv("STREAMCHAIN_AGENT_MAX_PROTOCOL");
    }
};

QTEST_APPLESS_MAIN(TestAgentProtocol)
#include "test_agent_protocol.moc"
