#include "core/messages/send_messages.h"

#include "core/messages/wire_names.h"

namespace sc {

const char* sendEventName(SendEvent::Kind kind) {
    using K = SendEvent::Kind;
    switch (kind) {
    case K::Planned:
        return wire::kSendPlanned;
    case K::BlockStarted:
        return wire::kSendBlockStarted;
    case K::Progress:
        return wire::kSendProgress;
    case K::BlockDone:
        return wire::kSendBlockDone;
    case K::TargetFailed:
        return wire::kSendTargetFailed;
    case K::Finished:
        return wire::kSendFinished;
    }
    return "unknown";
}

nlohmann::json sendProgressJson(const SendEvent& event) {
    return {{wire::kBytesDone, event.progress.bytesDone},
            {wire::kBytesTotal, event.progress.bytesTotal},
            {wire::kRate, event.progress.rate},
            {wire::kEtaSeconds, event.progress.etaSeconds},
            {wire::kWireBytes, event.wireBytes}};
}

nlohmann::json streamProgressJson(const SendEvent& event, const std::vector<std::string>& targets) {
    nlohmann::json j = sendProgressJson(event);
    j[wire::kHeight] = event.height;
    j[wire::kTargets] = event.targets.empty() ? targets : event.targets;
    if (!event.error.empty())
        j[wire::kError] = event.error;
    return j;
}

nlohmann::json sendEventJson(const SendEvent& event) {
    using K = SendEvent::Kind;
    nlohmann::json j = sendProgressJson(event);
    j[wire::kEvent] = sendEventName(event.kind);
    if (event.kind != K::Planned && event.kind != K::Finished && event.kind != K::TargetFailed) {
        j[wire::kHeight] = event.height;
        j[wire::kStep] = event.step;
        j[wire::kSteps] = event.steps;
    }
    if (event.kind == K::Planned)
        j[wire::kSteps] = event.steps;
    if (event.parent)
        j[wire::kParent] = *event.parent;
    if (!event.targets.empty())
        j[wire::kTargets] = event.targets;
    if (!event.error.empty())
        j[wire::kError] = event.error;
    return j;
}

nlohmann::json targetOutcomeJson(const TargetOutcome& outcome) {
    return {{wire::kTarget, outcome.target},
            {wire::kOk, outcome.ok},
            {wire::kError, outcome.error},
            {wire::kBlocksReceived, outcome.blocksReceived},
            {wire::kResumedBytes, outcome.resumedBytes}};
}

nlohmann::json sendReportJson(const SendReport& report) {
    nlohmann::json targets = nlohmann::json::array();
    for (const auto& outcome : report.targets)
        targets.push_back(targetOutcomeJson(outcome));
    return {{wire::kTargets, targets},
            {wire::kRawBytes, report.rawBytes},
            {wire::kWireBytes, report.wireBytes},
            {wire::kSeconds, report.seconds},
            {wire::kAllOk, report.allOk()}};
}

} // namespace sc
