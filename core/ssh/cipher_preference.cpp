#include "core/ssh/cipher_preference.h"

#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace sc {

std::string sshCipherPreference(bool aesInHardware) {
    const std::string gcm = "aes256-gcm@openssh.com,aes128-gcm@openssh.com";
    const std::string chacha = "chacha20-poly1305@openssh.com";
    const std::string ctr = "aes256-ctr,aes192-ctr,aes128-ctr";
    return (aesInHardware ? gcm + "," + chacha : chacha + "," + gcm) + "," + ctr;
}

bool cpuHasAesGcmInstructions() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#elif defined(__aarch64__)
    unsigned long caps = ::getauxval(AT_HWCAP);
    return (caps & HWCAP_AES) && (caps & HWCAP_PMULL);
#else
    return false;
#endif
}

} // namespace sc
