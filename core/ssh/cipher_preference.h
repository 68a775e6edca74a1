#pragma once

#include <string>

namespace sc {

// The ciphers a session offers, most preferred first. OpenSSH's own default puts
// chacha20-poly1305 first, which is the right choice without AES instructions; with them
// AES-GCM costs both ends about half the CPU per byte (on the target machine OpenSSL does
// AES-128-GCM at 6.3 GB/s and ChaCha20-Poly1305 at 3.8, and sshd's Poly1305 is its own,
// slower code). Every cipher listed is an AEAD or CTR mode that OpenSSH servers accept.
std::string sshCipherPreference(bool aesInHardware);

// Whether this CPU has AES and carry-less multiply instructions (x86 AES-NI + PCLMULQDQ,
// arm64 AES + PMULL).
bool cpuHasAesGcmInstructions();

} // namespace sc
