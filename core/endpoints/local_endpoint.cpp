#include "core/endpoints/local_endpoint.h"

#include "core/base/error.h"
#include "core/base/hash.h"
#include "core/base/height_names.h"
#include "core/footprint/footprint.h"
#include "core/ledger/chain.h"

namespace sc {

namespace {

// Receives raw bytes (a local replica never needs the compressed stream). Its bytes come
// straight from the producer in this process, so there is no transfer to checksum.
class LocalStreamSink : public StreamSink {
public:
    LocalStreamSink(const LocalReplica& replica, const ChainIdentity& binding, std::vector<IncomingBlock> blocks,
                    std::shared_ptr<const StreamTrailer> trailer)
        : name_(replica.root()), trailer_(std::move(trailer)),
          receiver_(std::make_unique<BlockReceiver>(replica, binding, std::move(blocks), SpoolOptions{},
                                                    std::nullopt)) {}
    void write(std::span<const std::uint8_t> chunk) override { receiver_->write(chunk); }
    void finish() override {
        auto receiver = std::move(receiver_);
        receiver->finish(trailer_->rawBytes);
    }
    void abort() noexcept override {
        if (receiver_)
            receiver_->abort(false);
        receiver_.reset();
    }
    std::string name() const override { return name_; }

private:
    std::string name_;
    std::shared_ptr<const StreamTrailer> trailer_;
    std::unique_ptr<BlockReceiver> receiver_;
};

} // namespace

std::string spoolKeyFor(const btrfs::Uuid* parent, const std::vector<btrfs::Uuid>& blocks) {
    Hasher hasher(HashAlgorithm::Sha256);
    hasher.updateSized(parent ? btrfs::uuidString(*parent) : std::string("full"));
    for (const auto& uuid : blocks)
        hasher.updateSized(btrfs::uuidString(uuid));
    return hasher.finish().hex().substr(0, 40);
}

void LocalEndpoint::prepare(const ChainIdentity& chain) {
    replica_.prepare(chain);
    if (!lock_) // prepared again when kept open across jobs: the lock is already ours
        lock_ = std::make_unique<ChainLock>(replica_.lockFile(), replica_.label());
    replica_.cleanStaging();
    binding_ = std::make_unique<ChainIdentity>(*replica_.binding());
}

void LocalEndpoint::checkBinding(const ChainIdentity& chain) { replica_.checkBinding(chain); }

std::vector<ReplicaBlock> LocalEndpoint::blocks() { return replica_.blocks(); }

std::string LocalEndpoint::blockPath(std::uint64_t height) const { return replica_.blockPath(height); }

std::string LocalEndpoint::headerText(std::uint64_t height) {
    return readBlockHeaderText(blockPath(height));
}

FootprintOptions LocalEndpoint::footprintOptionsFor(std::uint64_t height) const {
    std::optional<ChainIdentity> bound = replica_.binding();
    if (!bound)
        throw Error(label() + " is not bound to a chain");
    return footprintOptionsBoundedBy(footprintOptionsOf(*bound), readBlockHeader(blockPath(height)).counts);
}

std::string LocalEndpoint::footprintRoot(std::uint64_t height) {
    DiscardingSink entries; // the root alone: nothing of the tree is held
    return walkFootprint(blockPath(height), footprintOptionsFor(height), entries).root.hex();
}

FootprintTree LocalEndpoint::footprintTree(std::uint64_t height) {
    return computeFootprint(blockPath(height), footprintOptionsFor(height));
}

std::unique_ptr<StreamSink> LocalEndpoint::openStream(const StreamAnnouncement& stream,
                                                      std::shared_ptr<const StreamTrailer> trailer) {
    if (!binding_)
        throw Error(label() + ": prepare the replica before streaming to it");
    return std::make_unique<LocalStreamSink>(replica_, *binding_, stream.blocks, std::move(trailer));
}

} // namespace sc
