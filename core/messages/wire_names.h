#pragma once
// Every JSON key, request, event, phase and verdict word on the control socket and in
// `--json` outputs, named once (docs/control-protocol.md documents them). No includes:
// the Qt console uses these same constants, so the two sides cannot drift apart.

namespace sc::wire {

inline constexpr int kProtocolVersion = 2; // raised whenever a key below changes meaning or name

// Replies and requests.
inline constexpr char kOk[] = "ok";
inline constexpr char kError[] = "error";
inline constexpr char kRefused[] = "refused";
inline constexpr char kProtocol[] = "protocol";
inline constexpr char kOp[] = "op";
inline constexpr char kChain[] = "chain";
inline constexpr char kLimit[] = "limit";
inline constexpr char kMode[] = "mode";
inline constexpr char kCompress[] = "compress";
inline constexpr char kUpto[] = "upto";
inline constexpr char kIdentity[] = "identity";
inline constexpr char kAcceptHostKey[] = "accept_host_key";
inline constexpr char kAgentPath[] = "agent_path";
inline constexpr char kPlain[] = "plain";
inline constexpr char kAdded[] = "added";

// Request names (`op`); the job kinds are the names of the requests that start them.
inline constexpr char kOpStatus[] = "status";
inline constexpr char kOpSubscribe[] = "subscribe";
inline constexpr char kOpLog[] = "log";
inline constexpr char kOpShow[] = "show";
inline constexpr char kOpCommit[] = "commit";
inline constexpr char kOpSync[] = "sync";
inline constexpr char kOpCancel[] = "cancel";
inline constexpr char kOpStream[] = "stream";
inline constexpr char kOpVerify[] = "verify";
inline constexpr char kOpReplicaAdd[] = "replica-add";
inline constexpr char kOpReplicaRemove[] = "replica-remove";

// Status.
inline constexpr char kSubscribe[] = "subscribe";
inline constexpr char kDaemon[] = "daemon";
inline constexpr char kPid[] = "pid";
inline constexpr char kVersion[] = "version";
inline constexpr char kStarted[] = "started";
inline constexpr char kChains[] = "chains";
inline constexpr char kPath[] = "path";
inline constexpr char kName[] = "name";
inline constexpr char kTip[] = "tip";
inline constexpr char kReplicas[] = "replicas";
inline constexpr char kJobs[] = "jobs";
inline constexpr char kAccess[] = "access";
inline constexpr char kPrivileged[] = "privileged";
inline constexpr char kKeyDirectory[] = "key_directory";
inline constexpr char kKeys[] = "keys";
inline constexpr char kLocalRoots[] = "local_roots";

// A replica's state (status and `replica` events).
inline constexpr char kUrl[] = "url";
inline constexpr char kVia[] = "via";
inline constexpr char kPhase[] = "phase";
inline constexpr char kBlocksBehind[] = "blocks_behind";
inline constexpr char kLagSeconds[] = "lag_seconds";
inline constexpr char kBytesSent[] = "bytes_sent";
inline constexpr char kStreams[] = "streams";
inline constexpr char kLastError[] = "last_error";
inline constexpr char kLastSuccess[] = "last_success";
inline constexpr char kFailures[] = "failures";
inline constexpr char kRetryInSeconds[] = "retry_in_seconds";

// Replica phases.
inline constexpr char kPhaseUnknown[] = "unknown";
inline constexpr char kPhaseSyncing[] = "syncing";
inline constexpr char kPhaseInSync[] = "in-sync";
inline constexpr char kPhaseRetrying[] = "retrying";

// A block (log, show, history, commit, `block` events); header fields as the signed header spells them.
inline constexpr char kHeight[] = "height";
inline constexpr char kHash[] = "hash";
inline constexpr char kPrevious[] = "previous";
inline constexpr char kTimestamp[] = "timestamp";
inline constexpr char kMessage[] = "message";
inline constexpr char kOperations[] = "operations";
inline constexpr char kElements[] = "elements";
inline constexpr char kElement[] = "element";
inline constexpr char kBytes[] = "bytes";
inline constexpr char kFiles[] = "files";
inline constexpr char kSignatureValid[] = "signature_valid";
inline constexpr char kHeader[] = "header";
inline constexpr char kHashAlgorithm[] = "hash_algorithm";
inline constexpr char kContentRoot[] = "content_root";
inline constexpr char kChanges[] = "changes";
inline constexpr char kKind[] = "kind";
inline constexpr char kBlocks[] = "blocks"; // a list of blocks (log), never a count
inline constexpr char kSeconds[] = "seconds";
inline constexpr char kFootprint[] = "footprint";
inline constexpr char kIncremental[] = "incremental";
inline constexpr char kFilesHashed[] = "files_hashed";
inline constexpr char kBytesHashed[] = "bytes_hashed";
inline constexpr char kEntriesReused[] = "entries_reused";
inline constexpr char kId[] = "id";
inline constexpr char kPublicKey[] = "public_key";
inline constexpr char kGenesis[] = "genesis";

// Events.
inline constexpr char kEvent[] = "event";
inline constexpr char kEventBlock[] = "block";
inline constexpr char kEventReplica[] = "replica";
inline constexpr char kEventError[] = "error";
inline constexpr char kEventSync[] = "job"; // the sync worker's stream progress
inline constexpr char kEventJobStarted[] = "job_started";
inline constexpr char kEventJobProgress[] = "job_progress";
inline constexpr char kEventJobDone[] = "job_done";

// Jobs.
inline constexpr char kJob[] = "job";
inline constexpr char kState[] = "state";
inline constexpr char kResult[] = "result";
inline constexpr char kDetail[] = "detail";
inline constexpr char kProgress[] = "progress";
inline constexpr char kJobRunning[] = "running";
inline constexpr char kJobDone[] = "done";
inline constexpr char kJobFailed[] = "failed";
inline constexpr char kJobCancelled[] = "cancelled";

// Transfer progress, send events and outcomes.
inline constexpr char kBytesDone[] = "bytes_done";
inline constexpr char kBytesTotal[] = "bytes_total";
inline constexpr char kRate[] = "rate";
inline constexpr char kEtaSeconds[] = "eta_seconds";
inline constexpr char kWireBytes[] = "wire_bytes";
inline constexpr char kRawBytes[] = "raw_bytes";
inline constexpr char kResumedBytes[] = "resumed_bytes";
inline constexpr char kTargets[] = "targets";
inline constexpr char kTarget[] = "target";
inline constexpr char kBlocksReceived[] = "blocks_received";
inline constexpr char kAllOk[] = "all_ok";
inline constexpr char kStep[] = "step";
inline constexpr char kSteps[] = "steps";
inline constexpr char kParent[] = "parent";
inline constexpr char kSendPlanned[] = "planned";
inline constexpr char kSendBlockStarted[] = "block_started";
inline constexpr char kSendProgress[] = "progress";
inline constexpr char kSendBlockDone[] = "block_done";
inline constexpr char kSendTargetFailed[] = "target_failed";
inline constexpr char kSendFinished[] = "finished";
inline constexpr char kSendSummary[] = "summary";

// Verification.
inline constexpr char kReplica[] = "replica";
inline constexpr char kPaths[] = "paths";
inline constexpr char kAllMatch[] = "all_match";
inline constexpr char kCounts[] = "counts";
inline constexpr char kDeep[] = "deep";
inline constexpr char kBlocksChecked[] = "blocks_checked";
inline constexpr char kFindings[] = "findings";
inline constexpr char kProblem[] = "problem";
inline constexpr char kAdvice[] = "advice";
inline constexpr char kVerdictMatch[] = "MATCH";
inline constexpr char kVerdictMismatch[] = "MISMATCH";
inline constexpr char kVerdictMissing[] = "MISSING";
inline constexpr char kVerdictForeign[] = "FOREIGN";
inline constexpr char kVerdictUnhashed[] = "UNHASHED";

// Onboarding (`replica add --json`, `replica-add` job progress).
inline constexpr char kStepStarted[] = "step_started";
inline constexpr char kStepDone[] = "step_done";
inline constexpr char kStepStateStarted[] = "started";
inline constexpr char kStepStateDone[] = "done";
inline constexpr char kStepInitialSync[] = "initial-sync";
inline constexpr char kHostKey[] = "host_key";
inline constexpr char kType[] = "type";
inline constexpr char kFingerprint[] = "fingerprint";
inline constexpr char kRegistered[] = "registered";

} // namespace sc::wire
