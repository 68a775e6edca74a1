// Header encoding, hashing and Ed25519 signatures.
#include "core/base/error.h"
#include "core/base/height_names.h"
#include "core/ledger/block_header.h"
#include "core/ledger/signing_key.h"

#include <QTest>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

using namespace sc;

namespace {
BlockHeader sample() {
    BlockHeader h;
    h.chainId = "0123456789abcdef0123456789abcdef";
    h.height = 7;
    h.previous = std::string(64, 'a');
    h.contentRoot = std::string(64, 'b');
    h.footprintFormat = 1;
    h.features = 63;
    h.timestamp = "2026-11-24T00:00:00.000000Z";
    h.message = "ünïcode message";
    h.operations = nlohmann::json::array({{{"op", "set"}, {"element", "port:eth0"}, {"vlan", 10}}});
    h.elements = {"port:eth0"};
    h.counts = {3, 1, 0, 0, 42};
    return h;
}
} // namespace

class TestBlockHeader : public QObject {
    Q_OBJECT
private slots:
    void canonicalBytesAreStableAndSorted() {
        BlockHeader h = sample();
        std::string bytes = h.canonicalBytes(false);
        // Compact: no whitespace between tokens, no newline.
        QVERIFY(bytes.find("\": ") == std::string::npos && bytes.find(", \"") == std::string::npos);
        QVERIFY(bytes.find('\n') == std::string::npos);
        QVERIFY(bytes.find("\"chain_id\"") < bytes.find("\"height\""));
        QCOMPARE(BlockHeader::fromJson(nlohmann::json::parse(bytes)).canonicalBytes(false), bytes);
    }
    void signAndVerify() {
        SigningKey key = SigningKey::generate();
        BlockHeader h = sample();
        h.sign(key);
        QVERIFY(h.signatureValid(key.publicKeyHex()));
        BlockHeader changed = h;
        changed.message = "other";
        QVERIFY(!changed.signatureValid(key.publicKeyHex()));
        BlockHeader moved = h;
        moved.height = 8;
        QVERIFY(!moved.signatureValid(key.publicKeyHex()));
        QVERIFY(!h.signatureValid(SigningKey::generate().publicKeyHex()));
        BlockHeader garbage = h;
        garbage.signature = "zz";
        QVERIFY(!garbage.signatureValid(key.publicKeyHex()));
    }
    void hashCoversSignature() {
        SigningKey key = SigningKey::generate();
        BlockHeader a = sample();
        a.sign(key);
        BlockHeader b = a;
        b.signature = std::string(128, '0');
        QVERIFY(!(a.hash() == b.hash()));
    }
    void malformedHeadersAreRejected() {
        QVERIFY_THROWS_EXCEPTION(Error, BlockHeader::parse("{", "test"));
        QVERIFY_THROWS_EXCEPTION(Error, BlockHeader::parse("{\"format\":1}", "test"));
        auto j = sample().toJson();
        j["format"] = 99;
        QVERIFY_THROWS_EXCEPTION(Error, BlockHeader::fromJson(j));
        j = sample().toJson();
        j["height"] = "seven";
        QVERIFY_THROWS_EXCEPTION(Error, BlockHeader::fromJson(j));
    }
    void heightNames() {
        QCOMPARE(heightName(42), std::string("000000000042"));
        std::uint64_t h = 0;
        QVERIFY(parseHeightName("000000000042", h));
        QCOMPARE(h, 42u);
        QVERIFY(!parseHeightName(".staging-000000000042", h));
        QVERIFY(!parseHeightName("00000000004x", h));
    }
    void keyFileIsPrivateAndRefusedWhenOpen() {
        std::string dir = "/tmp/sc-unit-key-" + std::to_string(::getpid());
        std::filesystem::create_directories(dir);
        std::string file = dir + "/k.pem";
        SigningKey key = SigningKey::generate();
        key.save(file);
        struct stat st {};
        QCOMPARE(::stat(file.c_str(), &st), 0);
        QCOMPARE(st.st_mode & 0777, 0600u);
        QCOMPARE(SigningKey::load(file).publicKeyHex(), key.publicKeyHex());
        QVERIFY_THROWS_EXCEPTION(Error, key.save(file)); // never overwrites
        ::chmod(file.c_str(), 0644);
        QVERIFY_THROWS_EXCEPTION(Error, SigningKey::load(file));
        std::filesystem::remove_all(dir);
    }
};

QTEST_APPLESS_MAIN(TestBlockHeader)
#include "test_block_header.moc"
