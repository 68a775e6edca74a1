#pragma once
// One stream read, many consumers: each sink gets the same shared chunks through
// its own bounded queue and thread. A sink that fails drops out; the rest go on.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/base/hash.h"

namespace sc {

class StreamSink {
public:
    virtual ~StreamSink() = default;
    virtual void write(std::span<const std::uint8_t> chunk) = 0; // throws sc::Error on failure
    virtual void finish() = 0;                                   // all data delivered; throws on failure
    virtual void abort() noexcept = 0;                           // stop and clean up
    virtual std::string name() const = 0;
    // A sink that wants the compressed stream gets it when the producer made one.
    virtual bool wantsPacked() const { return false; }
    // A sink across a transport checks the producer's checksums of the raw stream at the end;
    // one in this process gets the very bytes and needs none.
    virtual TransferChecksums checksumsWanted() const { return {}; }
    // Bytes the receiver already held from a broken earlier try, so they were not sent again.
    virtual std::uint64_t resumedBytes() const { return 0; }
};

struct SinkOutcome {
    std::string name;
    bool ok = false;
    std::string error;
    std::uint64_t bytes = 0;
};

class FanOut {
public:
    explicit FanOut(std::vector<StreamSink*> sinks, std::size_t queueDepth = 8);
    ~FanOut();
    FanOut(const FanOut&) = delete;
    FanOut& operator=(const FanOut&) = delete;

    // Blocks while a healthy sink's queue is full. False when no healthy sink is left.
    // `packed` is the same bytes compressed (empty chunks allowed), for sinks that want it.
    bool push(std::shared_ptr<const std::string> raw, std::shared_ptr<const std::string> packed = nullptr);
    std::vector<SinkOutcome> finish();
    std::vector<SinkOutcome> cancel(const std::string& reason);
    std::size_t healthySinks() const;

private:
    enum class End { None, Finish, Cancel };
    struct Lane {
        StreamSink* sink = nullptr;
        bool packed = false;
        std::deque<std::shared_ptr<const std::string>> queue;
        SinkOutcome outcome;
        bool failed = false;
        bool done = false;
        std::thread thread;
    };
    void work(Lane& lane);
    std::vector<SinkOutcome> stop(End end, const std::string& reason);

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::unique_ptr<Lane>> lanes_;
    std::size_t depth_;
    End end_ = End::None;
    std::string cancelReason_;
    bool stopped_ = false;
};

} // namespace sc
