#include "core/replica_target.h"

#include "core/chain_identity.h"
#include "core/block_header.h"
#include "core/error.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace sc {

TargetSpec parseTargetSpec(const std::string& text) {
    TargetSpec spec;
    spec.text = text;
    if (text.empty())
        throw Error("empty target", ExitCode::Usage);
    if (text.rfind("ssh://", 0) == 0) {
        spec.kind = TargetSpec::Kind::Ssh;
        throw Error("target " + text + ": ssh:// replicas are not supported by this build yet", ExitCode::Usage);
    }
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

LocalReplica::LocalReplica(const std::string& root) : root_(root) {}

bool LocalReplica::exists() const { return fs::is_directory(root_); }

static std::string bindingFile(const std::string& root) { return root + "/.streamchain/replica.json"; }

void LocalReplica::checkBinding(const ChainIdentity& chain) const {
    if (!exists())
        throw Error(label() + " does not exist", ExitCode::Usage);
    std::string file = bindingFile(root_);
    if (!fs::exists(file))
        return;
    auto j = nlohmann::json::parse(readSmallFile(file), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("chain_id"))
        throw Error(label() + ": " + file + " is damaged");
    std::string boundTo = j["chain_id"].is_string() ? j["chain_id"].get<std::string>() : std::string();
    if (boundTo != chain.id)
        throw Error(label() + " belongs to another chain (" + boundTo + ")");
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
        nlohmann::json j = {{"format", 1}, {"chain_id", chain.id}, {"chain_name", chain.name},
                            {"public_key", chain.publicKey}};
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
        block.path = entry.path().string();
        if (!btrfs::isSubvolume(block.path))
            continue;
        block.info = btrfs::subvolumeInfo(block.path);
        result.push_back(std::move(block));
    }
    std::sort(result.begin(), result.end(),
              [](const ReplicaBlock& a, const ReplicaBlock& b) { return a.height < b.height; });
    return result;
}

void LocalReplica::cleanStaging() const {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(stagingDir(), ec))
        btrfs::removeTree(entry.path().string());
    // A publish interrupted between its rename and re-sealing left a checked block writable.
    for (const auto& block : blocks())
        if (!block.info.readOnly && !btrfs::isNullUuid(block.info.receivedUuid))
            btrfs::setReadOnly(block.path, true);
}

} // namespace sc
