#include "core/stream/fan_out.h"

#include <exception>

namespace sc {

FanOut::FanOut(std::vector<StreamSink*> sinks, std::size_t queueDepth) : depth_(queueDepth ? queueDepth : 1) {
    for (StreamSink* sink : sinks) {
        auto lane = std::make_unique<Lane>();
        lane->sink = sink;
        lane->packed = sink->wantsPacked();
        lane->outcome.name = sink->name();
        lanes_.push_back(std::move(lane));
    }
    for (auto& lane : lanes_)
        lane->thread = std::thread([this, raw = lane.get()] { work(*raw); });
}

FanOut::~FanOut() {
    if (!stopped_)
        stop(End::Cancel, "abandoned");
}

void FanOut::work(Lane& lane) {
    auto failWith = [&](const std::string& error) {
        lane.sink->abort();
        std::lock_guard lock(mutex_);
        lane.failed = true;
        lane.outcome.error = error;
        lane.queue.clear();
        lane.done = true;
        changed_.notify_all();
    };
    while (true) {
        std::shared_ptr<const std::string> chunk;
        End end = End::None;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return !lane.queue.empty() || end_ != End::None; });
            if (end_ == End::Cancel) {
                end = End::Cancel;
            } else if (!lane.queue.empty()) {
                chunk = std::move(lane.queue.front());
                lane.queue.pop_front();
                changed_.notify_all(); // room for the producer
            } else {
                end = End::Finish;
            }
        }
        if (end == End::Cancel) {
            failWith("cancelled: " + cancelReason_);
            return;
        }
        try {
            if (end == End::Finish) {
                lane.sink->finish();
                std::lock_guard lock(mutex_);
                lane.outcome.ok = true;
                lane.done = true;
                changed_.notify_all();
                return;
            }
            lane.sink->write(std::span(reinterpret_cast<const std::uint8_t*>(chunk->data()), chunk->size()));
            lane.outcome.bytes += chunk->size();
        } catch (const std::exception& e) {
            failWith(e.what());
            return;
        }
    }
}

bool FanOut::push(std::shared_ptr<const std::string> raw, std::shared_ptr<const std::string> packed) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
        for (auto& lane : lanes_)
            if (!lane->failed && lane->queue.size() >= depth_)
                return false;
        return true;
    });
    bool any = false;
    for (auto& lane : lanes_) {
        if (lane->failed)
            continue;
        any = true;
        const auto& chunk = lane->packed && packed ? packed : raw;
        if (!chunk->empty())
            lane->queue.push_back(chunk);
    }
    changed_.notify_all();
    return any;
}

std::size_t FanOut::healthySinks() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto& lane : lanes_)
        n += lane->failed ? 0u : 1u;
    return n;
}

std::vector<SinkOutcome> FanOut::stop(End end, const std::string& reason) {
    {
        std::lock_guard lock(mutex_);
        if (end_ == End::None) {
            end_ = end;
            cancelReason_ = reason;
        }
        changed_.notify_all();
    }
    for (auto& lane : lanes_)
        if (lane->thread.joinable())
            lane->thread.join();
    stopped_ = true;
    std::vector<SinkOutcome> outcomes;
    for (auto& lane : lanes_)
        outcomes.push_back(lane->outcome);
    return outcomes;
}

std::vector<SinkOutcome> FanOut::finish() { return stop(End::Finish, {}); }
std::vector<SinkOutcome> FanOut::cancel(const std::string& reason) { return stop(End::Cancel, reason); }

} // namespace sc
