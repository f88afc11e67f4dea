#pragma once
/// Hands work and answers from backend and judge threads to the runner's thread.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "medsafe/clock.hpp"

namespace medsafe {

/// Closures to run on the runner's thread: a multi-producer, single-consumer queue for a
/// consumer that takes everything at once. Producers never block on the consumer.
class EventQueue {
 public:
  using Event = std::function<void()>;

  /// Notifies under the lock: once the consumer can see the event it may destroy the queue,
  /// so the producer must not touch it after unlocking.
  void push(Event event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    ready_.notify_one();
  }

  /// Waits until an event is queued or `deadline` passes; replaces `out` with every queued
  /// event (the two buffers trade places, so capacity is kept and nothing is copied).
  void take_all(std::vector<Event>& out, TimePoint deadline) {
    out.clear();
    std::unique_lock lock(mutex_);
    ready_.wait_until(lock, deadline, [this] { return !events_.empty(); });
    out.swap(events_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<Event> events_;
};

}  // namespace medsafe
