#include "core/ssh/ssh_session.h"

#include "core/base/file_io.h"
#include "core/ssh/cipher_preference.h"
#include "core/base/hash.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sc {

std::string SshEndpoint::label() const {
    return (user.empty() ? std::string() : user + "@") + host + (port == 22 ? std::string() : ":" + std::to_string(port));
}

std::string shellQuote(const std::string& argument) {
    std::string quoted = "'";
    for (char c : argument) {
        if (c == '\'')
            quoted += "'\\''";
        else
            quoted += c;
    }
    return quoted + "'";
}

std::string shellCommand(const std::vector<std::string>& argv) {
    std::string line;
    for (const auto& arg : argv)
        line += (line.empty() ? "" : " ") + shellQuote(arg);
    return line;
}

// ---- channel ----

SshChannel::SshChannel(ssh_channel_struct* channel, std::string what) : channel_(channel), what_(std::move(what)) {}

SshChannel::~SshChannel() {
    if (!channel_)
        return;
    if (ssh_channel_is_open(channel_))
        ssh_channel_close(channel_);
    ssh_channel_free(channel_);
}

void SshChannel::write(std::span<const std::uint8_t> bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        // libssh takes at most a uint32_t per call and splits it into packets itself.
        auto piece = static_cast<std::uint32_t>(std::min<std::size_t>(bytes.size() - done, 1u << 20));
        int n = ssh_channel_write(channel_, bytes.data() + done, piece);
        if (n == SSH_ERROR || (n == 0 && !ssh_channel_is_open(channel_)))
            throw Error(what_ + ": connection lost while sending (" +
                        std::string(ssh_get_error(ssh_channel_get_session(channel_))) + ")");
        done += static_cast<std::size_t>(n);
    }
}

std::size_t SshChannel::read(std::uint8_t* buffer, std::size_t size, int timeoutMs) {
    auto count = static_cast<std::uint32_t>(std::min<std::size_t>(size, 1u << 24));
    while (true) {
        int n = ssh_channel_read_timeout(channel_, buffer, count, 0, timeoutMs);
        if (n == SSH_ERROR)
            throw Error(what_ + ": connection lost while reading (" +
                        std::string(ssh_get_error(ssh_channel_get_session(channel_))) + ")");
        if (n > 0)
            return static_cast<std::size_t>(n);
        // Without a timeout, 0 means end of file; with one it may also mean "nothing yet".
        if (timeoutMs < 0 || ssh_channel_is_eof(channel_) || !ssh_channel_is_open(channel_))
            return 0;
        throw Error(what_ + ": no answer from the remote side within " + std::to_string(timeoutMs / 1000) + " s");
    }
}

void SshChannel::readExactly(std::uint8_t* buffer, std::size_t size, int timeoutMs) {
    std::size_t done = 0;
    while (done < size) {
        std::size_t n = read(buffer + done, size - done, timeoutMs);
        if (n == 0) {
            std::string remote = drainStderr();
            throw Error(what_ + ": the remote side closed the connection" + (remote.empty() ? "" : ": " + remote));
        }
        done += n;
    }
}

void SshChannel::sendEof() {
    if (ssh_channel_is_open(channel_))
        ssh_channel_send_eof(channel_);
}

std::string SshChannel::drainStderr() {
    std::string text;
    char buffer[4096];
    while (true) {
        // Once the remote side has finished, its stderr is already buffered here: don't wait.
        bool ended = ssh_channel_is_eof(channel_) || !ssh_channel_is_open(channel_);
        int n = ssh_channel_read_timeout(channel_, buffer, sizeof buffer, 1, ended ? 0 : 200);
        if (n <= 0)
            break;
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.size() > 16384)
            break;
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    auto lastLine = text.rfind('\n');
    return lastLine == std::string::npos ? text : text.substr(lastLine + 1);
}

int SshChannel::exitStatus() {
    char sink[4096];
    while (ssh_channel_is_open(channel_) && !ssh_channel_is_eof(channel_)) {
        int n = ssh_channel_read(channel_, sink, sizeof sink, 0);
        if (n <= 0)
            break;
    }
    return ssh_channel_get_exit_status(channel_);
}

// ---- session ----

SshSession::SshSession(const SshEndpoint& endpoint, const SshConnectOptions& options) : endpoint_(endpoint) {
    if (options.knownHostsFile.empty())
        throw Error("ssh " + endpoint_.label() + ": no known_hosts file for pinned host keys");
    session_ = ssh_new();
    if (!session_)
        throw Error("ssh " + endpoint_.label() + ": cannot allocate a session");
    long timeout = options.connectTimeoutSeconds;
    int port = endpoint_.port;
    int no = 0;
    ssh_options_set(session_, SSH_OPTIONS_HOST, endpoint_.host.c_str());
    ssh_options_set(session_, SSH_OPTIONS_PORT, &port);
    if (!endpoint_.user.empty())
        ssh_options_set(session_, SSH_OPTIONS_USER, endpoint_.user.c_str());
    ssh_options_set(session_, SSH_OPTIONS_TIMEOUT, &timeout);
    // Our pins only: not ~/.ssh/config, not ~/.ssh/known_hosts, not /etc/ssh.
    ssh_options_set(session_, SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(session_, SSH_OPTIONS_KNOWNHOSTS, options.knownHostsFile.c_str());
    ssh_options_set(session_, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, options.knownHostsFile.c_str());
    ssh_options_set(session_, SSH_OPTIONS_COMPRESSION, "no");
    static const std::string ciphers = sshCipherPreference(cpuHasAesGcmInstructions());
    ssh_options_set(session_, SSH_OPTIONS_CIPHERS_C_S, ciphers.c_str());
    ssh_options_set(session_, SSH_OPTIONS_CIPHERS_S_C, ciphers.c_str());
    try {
        if (ssh_connect(session_) != SSH_OK)
            throw Error("ssh " + endpoint_.label() + ": cannot connect: " + ssh_get_error(session_));
        checkHostKey(options);
        authenticate(options);
        setDeadLinkTimeout(options.deadLinkSeconds);
    } catch (...) {
        ssh_disconnect(session_);
        ssh_free(session_);
        session_ = nullptr;
        throw;
    }
}

SshSession::~SshSession() {
    if (session_) {
        ssh_disconnect(session_);
        ssh_free(session_);
    }
}

bool SshSession::alive() const { return session_ && ssh_is_connected(session_); }

std::string SshSession::cipher() const {
    const char* name = session_ ? ssh_get_cipher_out(session_) : nullptr;
    return name ? name : "";
}

void SshSession::checkHostKey(const SshConnectOptions& options) {
    ssh_key key = nullptr;
    if (ssh_get_server_publickey(session_, &key) != SSH_OK)
        throw Error("ssh " + endpoint_.label() + ": the host sent no host key");
    unsigned char* hash = nullptr;
    std::size_t hashLength = 0;
    int rc = ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hashLength);
    keyType_ = ssh_key_type_to_char(ssh_key_type(key));
    ssh_key_free(key);
    if (rc != SSH_OK)
        throw Error("ssh " + endpoint_.label() + ": cannot fingerprint the host key");
    char* fingerprint = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hashLength);
    fingerprint_ = fingerprint ? fingerprint : "";
    ssh_string_free_char(fingerprint);
    ssh_clean_pubkey_hash(&hash);

    const std::string shown = keyType_ + " key " + fingerprint_;
    switch (ssh_session_is_known_server(session_)) {
    case SSH_KNOWN_HOSTS_OK:
        return;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
        throw Error("ssh " + endpoint_.label() + ": HOST KEY CHANGED: the host now shows " + shown +
                    ", which is not the pinned key. Refusing to connect: this may be an attack. If the host was "
                    "really reinstalled, remove its line from " + options.knownHostsFile + " and pin the new key");
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
        break;
    case SSH_KNOWN_HOSTS_ERROR:
        throw Error("ssh " + endpoint_.label() + ": cannot read pinned host keys in " + options.knownHostsFile + ": " +
                    ssh_get_error(session_));
    }
    if (options.acceptHostKey.empty())
        throw UnknownHostKeyError("ssh " + endpoint_.label() + ": host key is not pinned: " + shown +
                                      " (to trust it, pass --accept-host-key " + fingerprint_ + ")",
                                  fingerprint_, keyType_);
    if (options.acceptHostKey != fingerprint_)
        throw Error("ssh " + endpoint_.label() + ": host shows " + shown + ", not the accepted " +
                    options.acceptHostKey + "; refusing to connect");
    char* entry = nullptr;
    if (ssh_session_export_known_hosts_entry(session_, &entry) != SSH_OK)
        throw Error("ssh " + endpoint_.label() + ": cannot record the host key: " + ssh_get_error(session_));
    std::string line = entry;
    ssh_string_free_char(entry);
    if (options.recordAcceptedKey)
        recordKnownHost(options.knownHostsFile, line);
    else
        acceptedLine_ = line;
}

void recordKnownHost(const std::string& knownHostsFile, const std::string& line) {
    std::string existing = fs::exists(knownHostsFile) ? readSmallFile(knownHostsFile) : "";
    if (!existing.empty() && existing.back() != '\n')
        existing += '\n';
    fs::create_directories(fs::path(knownHostsFile).parent_path());
    writeFileAtomically(knownHostsFile, existing + line + (line.empty() || line.back() != '\n' ? "\n" : ""), 0600);
}

void SshSession::authenticate(const SshConnectOptions& options) {
    const std::string who = "ssh " + endpoint_.label();
    int rc = SSH_AUTH_DENIED;
    if (!options.identityFile.empty()) {
        struct stat st {};
        if (::stat(options.identityFile.c_str(), &st) != 0)
            throw Error(who + ": identity file " + options.identityFile + ": " + std::strerror(errno));
        if (st.st_mode & 077)
            throw Error(who + ": identity file " + options.identityFile +
                        " is readable by others; it must be 0600 (chmod 600 it)");
        ssh_key key = nullptr;
        if (ssh_pki_import_privkey_file(options.identityFile.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK)
            throw Error(who + ": cannot load the private key " + options.identityFile +
                        " (not a key, or protected by a passphrase: use ssh-agent)");
        rc = ssh_userauth_publickey(session_, nullptr, key);
        ssh_key_free(key);
        if (rc != SSH_AUTH_SUCCESS)
            throw KeyRefusedError(who + ": the host refused the key " + options.identityFile + " for user " +
                        (endpoint_.user.empty() ? std::string("(local user)") : endpoint_.user) +
                        " (is its public key in authorized_keys?)");
        return;
    }
    if (std::getenv("SSH_AUTH_SOCK"))
        rc = ssh_userauth_agent(session_, nullptr);
    if (rc != SSH_AUTH_SUCCESS)
        rc = ssh_userauth_publickey_auto(session_, nullptr, nullptr);
    if (rc != SSH_AUTH_SUCCESS)
        throw Error(who + ": authentication failed: no key from ssh-agent or ~/.ssh was accepted (give one with "
                          "--identity KEYFILE)");
}

void SshSession::setDeadLinkTimeout(int seconds) {
    // A link that silently drops packets would block a write for the kernel's
    // default ~15 minutes; TCP_USER_TIMEOUT and keepalives bound that.
    int fd = ssh_get_fd(session_);
    if (fd < 0)
        return;
    unsigned timeoutMs = static_cast<unsigned>(seconds) * 1000;
    int on = 1, idle = std::max(1, seconds / 2), interval = std::max(1, seconds / 4), probes = 3;
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeoutMs, sizeof timeoutMs);
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

std::unique_ptr<SshChannel> SshSession::exec(const std::string& remoteCommand) {
    const std::string who = "ssh " + endpoint_.label();
    ssh_channel channel = ssh_channel_new(session_);
    if (!channel)
        throw Error(who + ": cannot open a channel: " + ssh_get_error(session_));
    if (ssh_channel_open_session(channel) != SSH_OK) {
        std::string why = ssh_get_error(session_);
        ssh_channel_free(channel);
        throw Error(who + ": cannot open a channel: " + why);
    }
    if (ssh_channel_request_exec(channel, remoteCommand.c_str()) != SSH_OK) {
        std::string why = ssh_get_error(session_);
        ssh_channel_close(channel);
        ssh_channel_free(channel);
        throw Error(who + ": cannot start a remote command: " + why);
    }
    return std::make_unique<SshChannel>(channel, who);
}

std::string SshSession::run(const std::string& remoteCommand, const std::string& what) {
    auto channel = exec(remoteCommand);
    channel->sendEof();
    std::string out;
    std::uint8_t buffer[16384];
    while (std::size_t n = channel->read(buffer, sizeof buffer))
        out.append(reinterpret_cast<const char*>(buffer), n);
    int status = channel->exitStatus();
    std::string errors = channel->drainStderr();
    if (status != 0)
        throw Error("ssh " + endpoint_.label() + ": " + what + " failed (exit " + std::to_string(status) + ")" +
                    (errors.empty() ? "" : ": " + errors));
    return out;
}

std::string SshSession::existingAncestor(const std::string& path) {
    sftp_session sftp = sftp_new(session_);
    if (!sftp || sftp_init(sftp) != SSH_OK) {
        if (sftp)
            sftp_free(sftp);
        throw Error("ssh " + endpoint_.label() + ": the host offers no SFTP: " + ssh_get_error(session_));
    }
    fs::path at(path);
    while (true) {
        sftp_attributes attributes = sftp_stat(sftp, at.c_str());
        if (attributes) {
            sftp_attributes_free(attributes);
            break;
        }
        if (!at.has_parent_path() || at.parent_path() == at)
            break;
        at = at.parent_path();
    }
    sftp_free(sftp);
    return at.string();
}

void SshSession::upload(const std::string& localFile, const std::string& remotePath, int mode) {
    const std::string who = "ssh " + endpoint_.label() + ": upload to " + remotePath;
    FileDescriptor in(::open(localFile.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in)
        throwSystemError(who + ": cannot open " + localFile, errno);
    sftp_session sftp = sftp_new(session_);
    if (!sftp || sftp_init(sftp) != SSH_OK) {
        if (sftp)
            sftp_free(sftp);
        throw Error(who + ": the host offers no SFTP: " + ssh_get_error(session_));
    }
    std::string temporary = remotePath + ".upload-" + randomHex(4);
    std::string failure;
    // mkdir -p; existing directories fail harmlessly and sftp_open below says if one is unusable.
    std::vector<fs::path> parents;
    for (fs::path p = fs::path(remotePath).parent_path(); p.has_relative_path(); p = p.parent_path())
        parents.push_back(p);
    for (auto it = parents.rbegin(); it != parents.rend(); ++it)
        sftp_mkdir(sftp, it->c_str(), 0755);
    sftp_file file = sftp_open(sftp, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL, static_cast<mode_t>(mode));
    if (!file) {
        failure = "cannot create " + temporary + ": " + ssh_get_error(session_);
    } else {
        char buffer[1 << 16];
        while (failure.empty()) {
            std::size_t n = 0;
            try {
                n = readSome(in.get(), buffer, sizeof buffer, "cannot read " + localFile);
            } catch (const Error& e) {
                failure = e.what(); // the temporary file is removed below, not left behind
                break;
            }
            if (n == 0)
                break;
            if (sftp_write(file, buffer, n) != static_cast<ssize_t>(n))
                failure = std::string("write failed: ") + ssh_get_error(session_);
        }
        sftp_close(file);
        if (failure.empty() && sftp_chmod(sftp, temporary.c_str(), static_cast<mode_t>(mode)) != 0)
            failure = std::string("chmod failed: ") + ssh_get_error(session_);
        // SFTP's rename refuses to replace an existing file.
        if (failure.empty()) {
            sftp_unlink(sftp, remotePath.c_str());
            if (sftp_rename(sftp, temporary.c_str(), remotePath.c_str()) != 0)
                failure = std::string("rename failed: ") + ssh_get_error(session_);
        }
        if (!failure.empty())
            sftp_unlink(sftp, temporary.c_str());
    }
    in.reset();
    sftp_free(sftp);
    if (!failure.empty())
        throw Error(who + ": " + failure);
}

} // namespace sc
