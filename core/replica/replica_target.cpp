#include "core/replica/replica_target.h"

#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/base/height_names.h"
#include "core/footprint/footprint_records.h"
#include "core/footprint/footprint_tree.h"
#include "core/ledger/block_header.h"
#include "core/ledger/chain_identity.h"
#include "core/ssh/ssh_session.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace sc {

static TargetSpec parseSshTarget(const std::string& text) {
    TargetSpec spec;
    spec.text = text;
    spec.kind = TargetSpec::Kind::Ssh;
    std::string rest = text.substr(6);
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash + 1 >= rest.size())
        throw Error("target " + text + ": an ssh:// target needs an absolute path (ssh://user@host/path)",
                    ExitCode::Usage);
    std::string authority = rest.substr(0, slash);
    spec.path = fs::path(rest.substr(slash)).lexically_normal().string();
    if (spec.path.size() > 1 && spec.path.back() == '/')
        spec.path.pop_back();
    auto at = authority.rfind('@');
    if (at != std::string::npos) {
        spec.user = authority.substr(0, at);
        authority = authority.substr(at + 1);
    }
    auto colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']') == std::string::npos) {
        std::string port = authority.substr(colon + 1);
        authority = authority.substr(0, colon);
        if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
            std::stoi(port) < 1 || std::stoi(port) > 65535)
            throw Error("target " + text + ": bad port \"" + port + "\"", ExitCode::Usage);
        spec.port = std::stoi(port);
    }
    if (authority.size() > 2 && authority.front() == '[' && authority.back() == ']')
        authority = authority.substr(1, authority.size() - 2);
    // Host and user go to libssh as they are, never to a shell; still refuse what no host name holds.
    auto bad = [](const std::string& s) { return s.find_first_of(" \t\n'\"`$;&|<>()\\") != std::string::npos; };
    if (authority.empty() || bad(authority) || bad(spec.user) || authority.front() == '-' ||
        (!spec.user.empty() && spec.user.front() == '-'))
        throw Error("target " + text + ": bad host or user name", ExitCode::Usage);
    spec.host = authority;
    return spec;
}

TargetSpec parseTargetSpec(const std::string& text) {
    TargetSpec spec;
    spec.text = text;
    if (text.empty())
        throw Error("empty target", ExitCode::Usage);
    if (text.rfind("ssh://", 0) == 0)
        return parseSshTarget(text);
    std::string path = text.rfind("local:", 0) == 0 ? text.substr(6) : text;
    if (path.empty())
        throw Error("target " + text + " has no path", ExitCode::Usage);
    if (path.find("://") != std::string::npos)
        throw Error("target " + text + ": unknown scheme (expected local:/path, /path or ssh://)", ExitCode::Usage);
    spec.path = fs::absolute(path).lexically_normal().string();
    if (spec.path.size() > 1 && spec.path.back() == '/')
        spec.path.pop_back();
    return spec;
}

std::string targetUrl(const TargetSpec& target) {
    if (target.kind != TargetSpec::Kind::Ssh)
        return target.path;
    return "ssh://" + (target.user.empty() ? std::string() : target.user + "@") + target.host + ":" +
           std::to_string(target.port) + target.path;
}

SshEndpoint sshEndpointOf(const TargetSpec& target) { return {target.user, target.host, target.port}; }

LocalReplica::LocalReplica(const std::string& root) : root_(root) {}

bool LocalReplica::exists() const { return fs::is_directory(root_); }

static std::string bindingFile(const std::string& root) { return root + "/.streamchain/replica.json"; }

std::optional<ChainIdentity> LocalReplica::binding() const {
    std::string file = bindingFile(root_);
    if (!fs::exists(file))
        return std::nullopt;
    auto j = nlohmann::json::parse(readSmallFile(file), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("chain_id") || !j["chain_id"].is_string() ||
        !j.contains("public_key") || !j["public_key"].is_string())
        throw Error(label() + ": " + file + " is damaged");
    ChainIdentity bound;
    bound.id = j["chain_id"].get<std::string>();
    bound.name = j.value("chain_name", std::string());
    bound.publicKey = j["public_key"].get<std::string>();
    bound.hashAlgorithm = j.value("hash_algorithm", std::string("sha256"));
    bound.features = j.value("features", kFootprintAllFeatures);
    bound.footprintFormat = j.value("footprint_format", kFootprintFormatWholeFile);
    return bound;
}

void LocalReplica::checkBinding(const ChainIdentity& chain) const {
    if (!exists())
        throw Error(label() + " does not exist", ExitCode::Usage);
    std::optional<ChainIdentity> bound = binding();
    if (!bound)
        return;
    if (bound->id != chain.id)
        throw Error(label() + " belongs to another chain (" + bound->id + ")");
    if (bound->publicKey != chain.publicKey)
        throw Error(label() + " is bound to chain " + chain.id + " with a different public key; refusing it");
}

void LocalReplica::prepare(const ChainIdentity& chain) {
    // Checked before creating anything: a wrong target must not leave a directory behind.
    if (!btrfs::isOnBtrfs(root_))
        throw Error(label() + " is not on a btrfs filesystem", ExitCode::Usage);
    std::error_code ec;
    fs::create_directories(root_, ec);
    if (ec)
        throw Error("cannot create " + label() + ": " + ec.message());
    checkBinding(chain);
    fs::create_directories(stagingDir(), ec);
    fs::create_directories(blocksDir(), ec);
    if (ec)
        throw Error("cannot prepare " + label() + ": " + ec.message());
    if (!fs::exists(bindingFile(root_))) {
        nlohmann::json j = {{"format", 1},
                            {"chain_id", chain.id},
                            {"chain_name", chain.name},
                            {"public_key", chain.publicKey},
                            {"hash_algorithm", chain.hashAlgorithm},
                            {"features", chain.features},
                            {"footprint_format", chain.footprintFormat}};
        writeFileAtomically(bindingFile(root_), j.dump(2) + "\n");
    }
}

std::vector<ReplicaBlock> LocalReplica::blocks() const {
    std::vector<ReplicaBlock> result;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(blocksDir(), ec)) {
        ReplicaBlock block;
        if (!parseHeightName(entry.path().filename().string(), block.height))
            continue;
        std::string path = entry.path().string();
        if (!btrfs::isSubvolume(path))
            continue;
        btrfs::SubvolumeInfo info = btrfs::subvolumeInfo(path);
        block.uuid = info.uuid;
        block.receivedUuid = info.receivedUuid;
        block.readOnly = info.readOnly;
        result.push_back(block);
    }
    std::sort(result.begin(), result.end(),
              [](const ReplicaBlock& a, const ReplicaBlock& b) { return a.height < b.height; });
    return result;
}

std::string LocalReplica::blockPath(std::uint64_t height) const { return blocksDir() + "/" + heightName(height); }

void LocalReplica::cleanStaging() const {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(stagingDir(), ec))
        btrfs::removeTree(entry.path().string());
    FootprintRecords(footprintsDir()).removeUnfinished();
    // A publish interrupted between its rename and re-sealing left a checked block writable.
    for (const auto& block : blocks())
        if (!block.readOnly && !btrfs::isNullUuid(block.receivedUuid))
            btrfs::setReadOnly(blockPath(block.height), true);
}

} // namespace sc
