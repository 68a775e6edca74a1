#include "core/messages/block_messages.h"

#include "core/footprint/footprint_tree.h"
#include "core/messages/wire_names.h"

namespace sc {

nlohmann::json blockHeaderJson(const BlockHeader& header) {
    nlohmann::json j = header.toJson();
    j[wire::kHash] = header.hash().hex();
    return j;
}

nlohmann::json blockSummaryJson(const BlockHeader& header, bool signatureValid) {
    return {{wire::kHeight, header.height},      {wire::kHash, header.hash().hex()},
            {wire::kPrevious, header.previous},  {wire::kTimestamp, header.timestamp},
            {wire::kMessage, header.message},    {wire::kOperations, header.operations},
            {wire::kElements, header.elements},  {wire::kBytes, header.counts.bytes},
            {wire::kFiles, header.counts.files}, {wire::kSignatureValid, signatureValid}};
}

nlohmann::json blockChangesJson(const std::vector<PathChange>& changes) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& change : changes)
        list.push_back(
            {{wire::kKind, pathChangeKindName(change.kind)}, {wire::kPath, displayPath(change.path)}});
    return list;
}

nlohmann::json blockHistoryJson(const BlockHeader& header, const nlohmann::json& operations) {
    return {{wire::kHeight, header.height},
            {wire::kHash, header.hash().hex()},
            {wire::kTimestamp, header.timestamp},
            {wire::kMessage, header.message},
            {wire::kOperations, operations}};
}

nlohmann::json chainCreatedJson(const std::string& chainRoot, const ChainIdentity& identity,
                                const BlockHeader& genesis) {
    return {{wire::kChain, chainRoot},
            {wire::kId, identity.id},
            {wire::kName, identity.name},
            {wire::kPublicKey, identity.publicKey},
            {wire::kGenesis, genesis.hash().hex()}};
}

nlohmann::json commitResultJson(const CommitResult& result) {
    nlohmann::json j = blockHeaderJson(result.header);
    j[wire::kFootprint] = {{wire::kIncremental, result.incrementalFootprint},
                           {wire::kFilesHashed, result.filesHashed},
                           {wire::kBytesHashed, result.bytesHashed},
                           {wire::kEntriesReused, result.entriesReused},
                           {wire::kSeconds, result.seconds}};
    return j;
}

nlohmann::json commitReplyJson(const CommitResult& result) {
    return {{wire::kOk, true},
            {wire::kHeight, result.header.height},
            {wire::kHash, result.header.hash().hex()},
            {wire::kSeconds, result.seconds}};
}

} // namespace sc
