#pragma once
// Worker threads that run jobs largest first and hand finished ones back to the thread
// that submitted them, so a walk can go on listing while files are hashed, and keep
// every result's bookkeeping on its own thread. At most `window` jobs are in flight:
// the walk waits, so memory stays bounded whatever the tree.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace sc {

template <typename Job>
class HashPool {
public:
    // `work(job)` runs on a worker; it must not throw (keep a failure in the job).
    template <typename Work>
    HashPool(unsigned threads, std::size_t window, Work work) : window_(window) {
        for (unsigned i = 0; i < threads; ++i)
            workers_.emplace_back([this, work]() mutable { serve(work); });
    }
    ~HashPool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            queued_ = {};
        }
        wake_.notify_all();
        for (auto& worker : workers_)
            worker.join();
    }
    HashPool(const HashPool&) = delete;
    HashPool& operator=(const HashPool&) = delete;

    void submit(std::unique_ptr<Job> job, std::uint64_t size) {
        {
            std::lock_guard lock(mutex_);
            queued_.push({size, order_++, std::move(job)});
            ++inFlight_;
        }
        wake_.notify_one();
    }
    std::size_t inFlight() const {
        std::lock_guard lock(mutex_);
        return inFlight_;
    }
    bool full() const { return inFlight() >= window_; }
    // Finished jobs; waits up to `patience` for one when none is there yet.
    std::vector<std::unique_ptr<Job>> takeFinished(std::chrono::milliseconds patience) {
        std::unique_lock lock(mutex_);
        if (finished_.empty() && patience.count() > 0)
            done_.wait_for(lock, patience, [&] { return !finished_.empty(); });
        std::vector<std::unique_ptr<Job>> out(std::make_move_iterator(finished_.begin()),
                                              std::make_move_iterator(finished_.end()));
        finished_.clear();
        inFlight_ -= out.size();
        return out;
    }

private:
    struct Queued {
        std::uint64_t size, order;
        std::unique_ptr<Job> job;
        bool operator<(const Queued& other) const { // the priority queue's top is the largest, then the oldest
            return size != other.size ? size < other.size : order > other.order;
        }
    };

    template <typename Work>
    void serve(Work& work) {
        for (;;) {
            std::unique_ptr<Job> job;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
                if (stopping_)
                    return;
                job = std::move(const_cast<Queued&>(queued_.top()).job);
                queued_.pop();
            }
            work(*job);
            {
                std::lock_guard lock(mutex_);
                finished_.push_back(std::move(job));
            }
            done_.notify_all();
        }
    }

    const std::size_t window_;
    mutable std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::priority_queue<Queued> queued_;
    std::deque<std::unique_ptr<Job>> finished_;
    std::size_t inFlight_ = 0;
    std::uint64_t order_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

} // namespace sc
