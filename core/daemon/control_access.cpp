#include "core/daemon/control_access.h"

#include "core/endpoints/replica_registry.h"
#include "core/replica/replica_target.h"

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sc {

namespace {

std::string canonicalOrEmpty(const std::string& path) {
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(path, ec);
    return ec ? std::string() : canonical.string();
}

// A directory whose contents decide what operators may reach must be ours alone:
// if anyone else could write in it, they could swap a checked path for a link.
std::string unsafeDirectoryReason(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return "does not exist";
    if (!S_ISDIR(st.st_mode))
        return "is not a directory";
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        return "is not owned by root";
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return "is writable by group or others (chmod go-w it)";
    return {};
}

std::string joined(const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text.empty() ? "none" : text;
}

} // namespace

std::string ControlPeer::label() const {
    return "uid " + std::to_string(uid) + " (pid " + std::to_string(pid) + ")";
}

bool pathWithin(const std::string& path, const std::string& root) {
    if (root.empty() || path.size() < root.size() || path.compare(0, root.size(), root) != 0)
        return false;
    return path.size() == root.size() || root.back() == '/' || path[root.size()] == '/';
}

ControlAccess::ControlAccess(AccessPolicy policy) : policy_(std::move(policy)) {
    for (const auto& chain : policy_.servedChains)
        canonicalChains_.push_back(canonicalOrEmpty(chain));
    for (const auto& root : policy_.localRoots) {
        std::string problem = unsafeDirectoryReason(root);
        if (!problem.empty())
            throw Error("local root " + root + " " + problem, ExitCode::Usage);
        canonicalRoots_.push_back(fs::canonical(root).string());
    }
    canonicalKeyDirectory_ = canonicalOrEmpty(policy_.keyDirectory);
}

std::string ControlAccess::servedChain(const std::string& requested) const {
    if (requested.empty()) {
        if (policy_.servedChains.size() == 1)
            return policy_.servedChains.front();
        throw Error("the request names no chain, and this daemon serves " +
                        std::to_string(policy_.servedChains.size()) + " (give \"chain\")",
                    ExitCode::Usage);
    }
    std::string wanted = canonicalOrEmpty(requested);
    for (std::size_t i = 0; i < canonicalChains_.size(); ++i)
        if (!wanted.empty() && wanted == canonicalChains_[i])
            return policy_.servedChains[i];
    throw RequestRefused("served-chains", "this daemon does not serve " + requested +
                                              "; requests may name only the chains it serves (" +
                                              joined(policy_.servedChains) + ")");
}

std::string ControlAccess::identityFor(const std::string& requested, const ControlPeer& peer) const {
    const bool bareName = !requested.empty() && requested.find('/') == std::string::npos;
    std::string inKeyDirectory = policy_.keyDirectory + "/" + (requested.empty() ? "default" : requested);
    if (peer.privileged) // root's own keys stay available to root
        return bareName && fs::exists(inKeyDirectory) ? inKeyDirectory : requested;

    const std::string rule = "key-directory";
    const std::string model = "operators onboard with keys the administrator placed in " + policy_.keyDirectory;
    std::string problem = unsafeDirectoryReason(policy_.keyDirectory);
    if (!problem.empty())
        throw RequestRefused(rule, model + ", and that directory " + problem);
    std::string candidate = requested.empty() || bareName ? inKeyDirectory : requested;
    std::string canonical = canonicalOrEmpty(candidate);
    if (canonical.empty() || !pathWithin(canonical, canonicalKeyDirectory_) || canonical == canonicalKeyDirectory_)
        throw RequestRefused(rule, model + "; " + (requested.empty() ? "no key was named" : requested) +
                                       " is not one of them (name a key there, e.g. \"identity\":\"replicas\")");
    struct stat st {};
    if (::lstat(canonical.c_str(), &st) != 0)
        throw RequestRefused(rule, model + "; " + (requested.empty() ? std::string("there is no default key")
                                                                     : "there is no key " + requested) +
                                       " (name one of its files, e.g. \"identity\":\"replicas\")");
    if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != ::geteuid()))
        throw RequestRefused(rule, model + "; " + canonical + " is not a regular file owned by root");
    return canonical;
}

void ControlAccess::checkAdHocTarget(const std::string& target, const ControlPeer& peer) const {
    if (peer.privileged)
        return;
    TargetSpec spec = parseTargetSpec(target);
    if (spec.kind == TargetSpec::Kind::Ssh)
        throw RequestRefused("registered-targets",
                             "operators may send only to registered replicas (by name) or to local paths under "
                             "the daemon's local roots; " + target + " is neither (onboard it first)");
    // One level below a root, and not through a link: every directory on the way is
    // root's, so nothing an operator controls (not even a link inside a received
    // block) can steer the receive elsewhere between this check and the job.
    fs::path requested(spec.path);
    std::string parent = canonicalOrEmpty(requested.parent_path().string());
    struct stat st {};
    bool isLink = ::lstat(spec.path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
    for (const auto& root : canonicalRoots_)
        if (!parent.empty() && parent == root && !isLink && isValidReplicaName(requested.filename().string()))
            return;
    throw RequestRefused("local-roots", "operators may create local replicas only directly below the daemon's "
                                            "local roots, as ROOT/NAME (" + joined(canonicalRoots_) + "); " +
                                            spec.path + " is not one");
}

void ControlAccess::checkRootOnly(const std::string& what, const ControlPeer& peer) const {
    if (!peer.privileged)
        throw RequestRefused("root-only", what + " chooses a program the daemon runs for you on the replica's "
                                                 "host: only root may set it");
}

} // namespace sc
