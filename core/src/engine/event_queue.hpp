#pragma once
/// Hands work from backend and judge threads to the runner's thread.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "medsafe/clock.hpp"

namespace medsafe {

/// A multi-producer, single-consumer queue of closures. Producers never block on the consumer.
class EventQueue {
 public:
  void push(std::function<void()> event) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
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

}  // namespace medsafe
