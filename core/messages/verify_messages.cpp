#include "core/messages/verify_messages.h"

#include "core/footprint/footprint_tree.h"
#include "core/messages/wire_names.h"

namespace sc {

namespace {

nlohmann::json displayPaths(const std::vector<std::string>& raw) {
    nlohmann::json shown = nlohmann::json::array();
    for (const auto& path : raw)
        shown.push_back(displayPath(path));
    return shown;
}

} // namespace

nlohmann::json blockVerdictJson(const std::string& replica, const ReplicaBlockVerdict& verdict) {
    return {{wire::kReplica, replica},
            {wire::kHeight, verdict.height},
            {wire::kState, replicaBlockStateName(verdict.state)},
            {wire::kDetail, verdict.detail},
            {wire::kPaths, displayPaths(verdict.paths)}};
}

nlohmann::json verdictCountsJson(const ReplicaVerifyReport& report) {
    nlohmann::json counts = nlohmann::json::object();
    for (auto state : {ReplicaBlockState::Match, ReplicaBlockState::Mismatch, ReplicaBlockState::Missing,
                       ReplicaBlockState::Foreign, ReplicaBlockState::Unhashed})
        counts[replicaBlockStateName(state)] = report.count(state);
    return counts;
}

nlohmann::json replicaVerifyResultJson(const std::string& replica, const ReplicaVerifyReport& report) {
    return {{wire::kReplica, replica},
            {wire::kAllMatch, report.allMatch()},
            {wire::kCounts, verdictCountsJson(report)}};
}

nlohmann::json chainVerifyJson(const std::string& chainRoot, bool deep, const ChainVerifyReport& report) {
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : report.findings) {
        nlohmann::json finding = {
            {wire::kHeight, f.height}, {wire::kProblem, f.problem}, {wire::kPaths, displayPaths(f.paths)}};
        if (!f.advice.empty())
            finding[wire::kAdvice] = f.advice;
        findings.push_back(std::move(finding));
    }
    return {{wire::kChain, chainRoot},
            {wire::kOk, report.ok()},
            {wire::kDeep, deep},
            {wire::kBlocksChecked, report.blocksChecked},
            {wire::kBytesHashed, report.bytesHashed},
            {wire::kFindings, findings}};
}

} // namespace sc
