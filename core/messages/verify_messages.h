#pragma once
// Verification results as JSON: a replica's per-block verdicts and totals (CLI lines
// and `verify` jobs alike) and a chain's own verification report.
#include <nlohmann/json.hpp>
#include <string>

#include "core/ledger/chain_verify.h"
#include "core/replication/replica_verify.h"

namespace sc {

// {replica, height, state, detail, paths}: paths escaped for display.
nlohmann::json blockVerdictJson(const std::string& replica, const ReplicaBlockVerdict& verdict);
// {MATCH: n, MISMATCH: n, MISSING: n, FOREIGN: n, UNHASHED: n}
nlohmann::json verdictCountsJson(const ReplicaVerifyReport& report);
// {replica, all_match, counts}: the replica's last line and the `verify` job's result.
nlohmann::json replicaVerifyResultJson(const std::string& replica, const ReplicaVerifyReport& report);
// {chain, ok, deep, blocks_checked, bytes_hashed, findings: [{height, problem, paths, advice?}]}
nlohmann::json chainVerifyJson(const std::string& chainRoot, bool deep, const ChainVerifyReport& report);

} // namespace sc
