#pragma once
// The send path's values as JSON: one encoder each for a send event, its progress,
// a target's outcome and the whole report, whoever prints or publishes them.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/replication/send_blocks.h"

namespace sc {

const char* sendEventName(SendEvent::Kind kind); // "planned", "block_started", ...

// {bytes_done, bytes_total, rate, eta_seconds, wire_bytes}: the job so far.
nlohmann::json sendProgressJson(const SendEvent& event);
// A stream's progress as the daemon reports it: the progress plus height, the targets
// it concerns (`targets` when the event names none) and error when there is one.
nlohmann::json streamProgressJson(const SendEvent& event, const std::vector<std::string>& targets);
// `send --json`: {event, progress..., height/step/steps, parent, targets, error} as the kind has them.
nlohmann::json sendEventJson(const SendEvent& event);
// {target, ok, error, blocks_received, resumed_bytes}
nlohmann::json targetOutcomeJson(const TargetOutcome& outcome);
// {targets, raw_bytes, wire_bytes, seconds, all_ok}
nlohmann::json sendReportJson(const SendReport& report);

} // namespace sc
