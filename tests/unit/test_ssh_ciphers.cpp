// The cipher order offered to sshd: AES-GCM first where the CPU has AES instructions,
// ChaCha20-Poly1305 first where it has not, and every name one libssh accepts.
#include "core/ssh/cipher_preference.h"

#include <QTest>
#include <algorithm>
#include <libssh/libssh.h>
#include <string>
#include <vector>

using namespace sc;

namespace {
std::vector<std::string> namesOf(const std::string& list) {
    std::vector<std::string> names;
    for (std::size_t at = 0; at <= list.size();) {
        std::size_t comma = std::min(list.find(',', at), list.size());
        names.push_back(list.substr(at, comma - at));
        at = comma + 1;
    }
    return names;
}
} // namespace

class TestSshCiphers : public QObject {
    Q_OBJECT
private slots:
    void aesHardwarePutsGcmFirst() {
        QVERIFY(sshCipherPreference(true).starts_with("aes256-gcm@openssh.com,aes128-gcm@openssh.com,"));
        QVERIFY(sshCipherPreference(false).starts_with("chacha20-poly1305@openssh.com,"));
    }
    void bothOrdersOfferTheSameCiphers() {
        auto sorted = [](const std::string& list) {
            std::vector<std::string> names = namesOf(list);
            std::sort(names.begin(), names.end());
            return names;
        };
        QCOMPARE(sorted(sshCipherPreference(true)), sorted(sshCipherPreference(false)));
        QVERIFY(sshCipherPreference(true).find("cbc") == std::string::npos); // no mode with known padding-oracle history
    }
    void libsshAcceptsEveryName() {
        for (bool aes : {true, false}) {
            // libssh drops names it does not know; setting a list of one name at a time shows each.
            for (const std::string& name : namesOf(sshCipherPreference(aes))) {
                ssh_session session = ssh_new();
                QVERIFY(session);
                int rc = ssh_options_set(session, SSH_OPTIONS_CIPHERS_C_S, name.c_str());
                ssh_free(session);
                QVERIFY2(rc == SSH_OK, name.c_str());
            }
        }
    }
};

QTEST_APPLESS_MAIN(TestSshCiphers)
#include "test_ssh_ciphers.moc"
