// Known-answer tests for the hashing primitives that footprints and headers rest on,
// and for the XXH3-128 transfer checksum of agent protocol 2.
#include "core/base/error.h"
#include "core/base/hash.h"

#include <QTest>
#include <random>
#include <xxhash.h>

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

    // Expected values printed by `xxhsum -H2` (xxhash 0.8.1) for the same input.
    void xxh3KnownAnswers() {
        QCOMPARE(xxh3Hex(""), std::string("99aa06d3014798d86001c324468d497f"));
        QCOMPARE(xxh3Hex("abc"), std::string("06b05ab6733a618578af5f94892f3950"));
        QCOMPARE(xxh3Hex(std::string(100000, 'x')), std::string("0fe996a84987456bd8b99a30e426ac41"));
        Xxh3Hasher hasher;
        hasher.update("a").update("bc");
        QCOMPARE(hasher.finishHex(), std::string("06b05ab6733a618578af5f94892f3950"));
        hasher.update("abc"); // finishHex() resets
        QCOMPARE(hasher.finishHex(), std::string("06b05ab6733a618578af5f94892f3950"));
    }

    // The canonical form is the 128-bit value big-endian, high half first.
    void xxh3HexIsCanonicalBigEndian() {
        XXH128_hash_t hash = XXH3_128bits("abc", 3);
        char expected[33];
        std::snprintf(expected, sizeof expected, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                      static_cast<unsigned long long>(hash.low64));
        QCOMPARE(xxh3Hex("abc"), std::string(expected));
    }

    // Chunked streaming equals the library's one-shot digest, for random data cut at random
    // places (sizes around XXH3's internal 256-byte stripes and 1 KiB blocks included).
    void xxh3ChunkedEqualsOneShot() {
        const auto seed = std::random_device{}();
        qInfo("seed %u", seed);
        std::mt19937 random(seed);
        for (int round = 0; round < 200; ++round) {
            std::size_t size = std::uniform_int_distribution<std::size_t>(0, round < 100 ? 2048 : 300000)(random);
            std::string data(size, '\0');
            for (char& c : data)
                c = static_cast<char>(random());
            XXH128_hash_t oneShot = XXH3_128bits(data.data(), data.size());
            XXH128_canonical_t canonical;
            XXH128_canonicalFromHash(&canonical, oneShot);
            const std::string expected = toHex(std::span<const std::uint8_t>(canonical.digest, 16));
            TransferHasher hasher(TransferChecksum::Xxh3);
            for (std::size_t at = 0; at < data.size();) {
                std::size_t n = std::uniform_int_distribution<std::size_t>(0, 5000)(random);
                n = std::min(n, data.size() - at);
                hasher.update(std::span(reinterpret_cast<const std::uint8_t*>(data.data() + at), n));
                at += n;
            }
            QVERIFY2(hasher.finishHex() == expected,
                     ("seed " + std::to_string(seed) + ", round " + std::to_string(round)).c_str());
        }
    }

    void transferHasherOfSha256IsSha256() {
        TransferHasher hasher(TransferChecksum::Sha256);
        hasher.update(std::span(reinterpret_cast<const std::uint8_t*>("abc"), 3));
        QCOMPARE(hasher.finishHex(), hashBytes(HashAlgorithm::Sha256, "abc").hex());
    }

    void transferChecksumSets() {
        TransferChecksums none;
        QVERIFY(!none.any());
        TransferChecksums both = TransferChecksums().add(TransferChecksum::Xxh3);
        both |= TransferChecksums().add(TransferChecksum::Sha256);
        QVERIFY(both.has(TransferChecksum::Sha256) && both.has(TransferChecksum::Xxh3));
    }
};

QTEST_APPLESS_MAIN(TestHash)
#include "test_hash.moc"
