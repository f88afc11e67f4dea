#pragma once
/// Hands work and answers from backend and judge threads to the runner's thread.
#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <vector>

#include "medsafe/clock.hpp"

namespace medsafe {

/// A multi-producer, single-consumer queue of closures. Producers never block on the consumer.
class EventQueue {
 public:
  /// Notifies under the lock: once the consumer can see the event it may destroy the queue,
  /// so the producer must not touch it after unlocking.
  void push(std::function<void()> event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    ready_.notify_one();
  }

  /// Waits until an event is queued or `deadline` passes; returns every queued event.
  std::deque<std::function<void()>> wait_until(TimePoint deadline) {
    std::unique_lock lock(mutex_);
    ready_.wait_until(lock, deadline, [this] { return !events_.empty(); });
    std::deque<std::function<void()>> out;
    out.swap(events_);
    return out;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> events_;
};

/// A multi-producer, single-consumer queue of values, for a consumer that takes them in batches.
/// Cheaper than EventQueue when every event is the same kind: no closure per value.
template <typename Value>
class Mailbox {
 public:
  /// Notifies under the lock, as EventQueue::push does.
  void push(Value value) {
    std::lock_guard lock(mutex_);
    values_.push_back(std::move(value));
    ready_.notify_one();
  }

  /// Waits until a value is queued or `deadline` passes; moves every queued value to the end
  /// of `out`.
  void take_all(std::vector<Value>& out, TimePoint deadline) {
    std::unique_lock lock(mutex_);
    ready_.wait_until(lock, deadline, [this] { return !values_.empty(); });
    if (out.empty()) {
      out.swap(values_);  // the two buffers trade places: no copy, capacity kept
    } else {
      std::move(values_.begin(), values_.end(), std::back_inserter(out));
      values_.clear();
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<Value> values_;
};

}  // namespace medsafe
