#pragma once
// A block as JSON, for log, show, history and commit on the CLI and the socket alike.
// Block time is `timestamp` everywhere, as the signed header spells it.
#include <nlohmann/json.hpp>
#include <vector>

#include "core/ledger/block_changes.h"
#include "core/ledger/block_header.h"
#include "core/ledger/chain_identity.h"
#include "core/ledger/commit.h"

namespace sc {

// The whole signed header plus its `hash` (`log --json`, `show --json`, `commit --json`).
nlohmann::json blockHeaderJson(const BlockHeader& header);
// A row of the socket's `log`: {height, hash, previous, timestamp, message, operations,
// elements, bytes, files, signature_valid}.
nlohmann::json blockSummaryJson(const BlockHeader& header, bool signatureValid);
// [{kind, path}]: paths escaped for display.
nlohmann::json blockChangesJson(const std::vector<PathChange>& changes);
// `history --json`: {height, hash, timestamp, message, operations} with the operations given.
nlohmann::json blockHistoryJson(const BlockHeader& header, const nlohmann::json& operations);

// `init --json`: {chain, id, name, public_key, genesis}.
nlohmann::json chainCreatedJson(const std::string& chainRoot, const ChainIdentity& identity,
                                const BlockHeader& genesis);
// `commit --json`: the new block's header and hash plus footprint{incremental,
// files_hashed, bytes_hashed, entries_reused, seconds}.
nlohmann::json commitResultJson(const CommitResult& result);
// The socket's `commit` reply: {ok, height, hash, seconds}.
nlohmann::json commitReplyJson(const CommitResult& result);

} // namespace sc
