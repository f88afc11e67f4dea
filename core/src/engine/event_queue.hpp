#pragma once
/// Hands work and answers from backend and judge threads to the runner's thread.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "medsafe/clock.hpp"

namespace medsafe {

/// A multi-producer, single-consumer queue for a consumer that takes everything at once.
/// Producers never block on the consumer.
template <typename Value>
class Mailbox {
 public:
  /// Notifies under the lock: once the consumer can see the value it may destroy the mailbox,
  /// so the producer must not touch it after unlocking.
  void push(Value value) {
    std::lock_guard lock(mutex_);
    values_.push_back(std::move(value));
    ready_.notify_one();
  }

  /// Waits until a value is queued or `deadline` passes; replaces `out` with every queued
  /// value (the two buffers trade places, so capacity is kept and nothing is copied).
  void take_all(std::vector<Value>& out, TimePoint deadline) {
    out.clear();
    std::unique_lock lock(mutex_);
    ready_.wait_until(lock, deadline, [this] { return !values_.empty(); });
    out.swap(values_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<Value> values_;
};

/// Closures to run on the runner's thread.
using EventQueue = Mailbox<std::function<void()>>;

}  // namespace medsafe
