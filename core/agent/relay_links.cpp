#include "core/agent/relay_links.h"

#include "core/agent/agent_deploy.h"
#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/replica/replica_target.h"

#include <filesystem>
#include <libssh/libssh.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sc {

namespace {

std::string hostName() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}

// A new ed25519 key pair: the private key written 0600 from the start, the public line returned.
std::string generateKey(const std::string& privateFile, const std::string& publicFile) {
    ssh_key key = nullptr;
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
        throw Error("relay: cannot generate an SSH key");
    char* privateText = nullptr;
    char* publicBase64 = nullptr;
    int rc = ssh_pki_export_privkey_base64(key, nullptr, nullptr, nullptr, &privateText);
    if (rc == SSH_OK)
        rc = ssh_pki_export_pubkey_base64(key, &publicBase64);
    std::string line = rc == SSH_OK ? std::string(ssh_key_type_to_char(ssh_key_type(key))) + " " + publicBase64 +
                                          " streamchain-relay@" + hostName()
                                    : std::string();
    std::string privateKey = privateText ? privateText : "";
    ssh_string_free_char(privateText);
    ssh_string_free_char(publicBase64);
    ssh_key_free(key);
    if (rc != SSH_OK)
        throw Error("relay: cannot export the generated SSH key");
    writeFileAtomically(privateFile, privateKey, 0600);
    writeFileAtomically(publicFile, line + "\n", 0644);
    return line;
}

} // namespace

RelayLinks::RelayLinks(std::string replicaRoot) : dir_(std::move(replicaRoot) + "/.streamchain/relay") {}

RelayLinks::~RelayLinks() = default;

std::string RelayLinks::publicKey() {
    const std::string privateFile = dir_ + "/id_ed25519", publicFile = privateFile + ".pub";
    if (fs::exists(privateFile) && fs::exists(publicFile)) {
        std::string line = readSmallFile(publicFile, 64 << 10);
        while (!line.empty() && line.back() == '\n')
            line.pop_back();
        return line;
    }
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all);
    return generateKey(privateFile, publicFile);
}

AgentClient& RelayLinks::open(const DownstreamSpec& downstream, const ChainIdentity& chain,
                              std::uint32_t newestProtocol) {
    TargetSpec target = parseTargetSpec(downstream.url);
    if (target.kind != TargetSpec::Kind::Ssh)
        throw Error("relay: a downstream replica must be an ssh:// URL, not " + downstream.url);
    publicKey(); // the key and the pins directory exist from here on
    links_.erase(downstream.url);
    SshConnectOptions connect;
    connect.knownHostsFile = dir_ + "/known_hosts";
    connect.identityFile = dir_ + "/id_ed25519";
    connect.acceptHostKey = downstream.acceptHostKey;
    connect.recordAcceptedKey = false; // pinned once the downstream agent answers, not on a failed try
    Link link;
    try {
        link.session = std::make_unique<SshSession>(sshEndpointOf(target), connect);
    } catch (const KeyRefusedError& refused) {
        throw Error(std::string(refused.what()) + "; authorize the relay's key there: " + publicKey());
    }
    std::string agentPath = downstream.agentPath;
    if (downstream.deploy)
        agentPath = ensureAgent(*link.session, target.path, downstream.agentPath).agentPath;
    link.agent = std::make_unique<AgentClient>(*link.session, target.path, chain, agentPath, newestProtocol);
    if (!link.session->acceptedKnownHostsLine().empty())
        recordKnownHost(connect.knownHostsFile, link.session->acceptedKnownHostsLine());
    return *links_.insert_or_assign(downstream.url, std::move(link)).first->second.agent;
}

AgentClient& RelayLinks::link(const std::string& url) {
    auto found = links_.find(url);
    if (found == links_.end())
        throw Error("relay: no connection to " + url + " in this session (open it with a downstream request)");
    return *found->second.agent;
}

void RelayLinks::drop(const std::string& url) { links_.erase(url); }

} // namespace sc
