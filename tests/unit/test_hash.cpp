// Known-answer tests for the hashing primitives that footprints and headers rest on.
#include "core/base/error.h"
#include "core/base/hash.h"

#include <QTest>

using namespace sc;

class TestHash : public QObject {
    Q_OBJECT
private slots:
    void sha256KnownAnswer() {
        QCOMPARE(hashBytes(HashAlgorithm::Sha256, "abc").hex(),
                 std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    }
    void blake2bKnownAnswer() {
        QCOMPARE(hashBytes(HashAlgorithm::Blake2b512, "abc").hex().substr(0, 32),
                 std::string("ba80a53f981c4d0d6a2797b69f12f6e9"));
    }
    void incrementalEqualsOneShot() {
        Hasher hasher(HashAlgorithm::Sha256);
        hasher.update("a").update("bc");
        QCOMPARE(hasher.finish(), hashBytes(HashAlgorithm::Sha256, "abc"));
        // finish() resets: the hasher is reusable.
        hasher.update("abc");
        QCOMPARE(hasher.finish(), hashBytes(HashAlgorithm::Sha256, "abc"));
    }
    void sizedUpdatesAreUnambiguous() {
        Hasher a(HashAlgorithm::Sha256), b(HashAlgorithm::Sha256);
        a.updateSized("ab").updateSized("c");
        b.updateSized("a").updateSized("bc");
        QVERIFY(!(a.finish() == b.finish()));
    }
    void hexRoundTrip() {
        Digest d = hashBytes(HashAlgorithm::Sha256, "x");
        QCOMPARE(Digest::fromHex(d.hex()), d);
        QVERIFY_THROWS_EXCEPTION(Error, Digest::fromHex("zz"));
        QVERIFY_THROWS_EXCEPTION(Error, Digest::fromHex("abc"));
    }
    void algorithmNames() {
        QCOMPARE(parseHashAlgorithm("sha256"), HashAlgorithm::Sha256);
        QCOMPARE(parseHashAlgorithm("blake2b512"), HashAlgorithm::Blake2b512);
        QVERIFY_THROWS_EXCEPTION(Error, parseHashAlgorithm("md5"));
    }
};

QTEST_APPLESS_MAIN(TestHash)
#include "test_hash.moc"
