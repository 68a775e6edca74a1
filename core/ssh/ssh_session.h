#pragma once
// One SSH connection (libssh) to a replica host: host key pinned in a
// known_hosts file the chain owns, key authentication, remote commands as
// channels, and SFTP upload. A session is used by one thread at a time.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/base/error.h"

struct ssh_session_struct;
struct ssh_channel_struct;

namespace sc {

struct SshEndpoint {
    std::string user; // empty: the local user name
    std::string host;
    int port = 22;
    std::string label() const; // "user@host:port"
};

struct SshConnectOptions {
    std::string knownHostsFile;   // the chain's pins; must be given
    std::string identityFile;     // empty: ssh-agent, then ~/.ssh/id_*
    std::string acceptHostKey;    // "SHA256:..." to pin an unknown key that shows exactly this
    int connectTimeoutSeconds = 10;
    int deadLinkSeconds = 20;     // unacknowledged data for this long: the link is dead
    bool recordAcceptedKey = true; // false: keep an accepted key in memory (acceptedKnownHostsLine)
};

// Thrown when the host shows a key that is not pinned yet; carries what to pin.
class UnknownHostKeyError : public Error {
public:
    UnknownHostKeyError(const std::string& message, std::string fingerprint, std::string keyType)
        : Error(message), fingerprint_(std::move(fingerprint)), keyType_(std::move(keyType)) {}
    const std::string& fingerprint() const { return fingerprint_; }
    const std::string& keyType() const { return keyType_; }

private:
    std::string fingerprint_, keyType_;
};

// Thrown when the host does not accept the key given as the identity.
class KeyRefusedError : public Error {
public:
    using Error::Error;
};

// Quote one argument for a POSIX shell on the remote side: 'it'\''s'.
std::string shellQuote(const std::string& argument);
std::string shellCommand(const std::vector<std::string>& argv);

class SshChannel {
public:
    explicit SshChannel(ssh_channel_struct* channel, std::string what);
    ~SshChannel();
    SshChannel(const SshChannel&) = delete;
    SshChannel& operator=(const SshChannel&) = delete;

    void write(std::span<const std::uint8_t> bytes); // throws when the channel is gone
    // Read up to `size` bytes of stdout; 0 at EOF. timeoutMs < 0: wait forever.
    std::size_t read(std::uint8_t* buffer, std::size_t size, int timeoutMs = -1);
    void readExactly(std::uint8_t* buffer, std::size_t size, int timeoutMs = -1);
    void sendEof();
    std::string drainStderr(); // whatever the remote wrote to stderr so far
    int exitStatus();          // waits for the remote command to end; -1 if unknown
    const std::string& what() const { return what_; }

private:
    ssh_channel_struct* channel_;
    std::string what_;
};

class SshSession {
public:
    // Connects, checks the host key against the pins, authenticates. Throws sc::Error
    // (UnknownHostKeyError for a key not pinned yet) naming the host and the step.
    SshSession(const SshEndpoint& endpoint, const SshConnectOptions& options);
    ~SshSession();
    SshSession(const SshSession&) = delete;
    SshSession& operator=(const SshSession&) = delete;

    const SshEndpoint& endpoint() const { return endpoint_; }
    const std::string& hostKeyFingerprint() const { return fingerprint_; }
    const std::string& hostKeyType() const { return keyType_; }
    bool alive() const;
    // The cipher negotiated for what this end sends (see cipher_preference.h).
    std::string cipher() const;
    // The known_hosts line of a key accepted but not recorded (see recordAcceptedKey).
    const std::string& acceptedKnownHostsLine() const { return acceptedLine_; }

    std::unique_ptr<SshChannel> exec(const std::string& remoteCommand);
    // Run a command to completion: stdout, or sc::Error with its stderr.
    std::string run(const std::string& remoteCommand, const std::string& what);
    // SFTP: copy localFile to remotePath via a temporary name, then rename; mode applied.
    void upload(const std::string& localFile, const std::string& remotePath, int mode);
    // SFTP: the nearest ancestor of `path` (or path itself) that exists on the host.
    std::string existingAncestor(const std::string& path);

private:
    void checkHostKey(const SshConnectOptions& options);
    void authenticate(const SshConnectOptions& options);
    void setDeadLinkTimeout(int seconds);

    SshEndpoint endpoint_;
    ssh_session_struct* session_ = nullptr;
    std::string fingerprint_, keyType_;
    std::string acceptedLine_;
};

// Append a known_hosts line to the chain's pins (atomic, 0600).
void recordKnownHost(const std::string& knownHostsFile, const std::string& line);

} // namespace sc
