#pragma once
/// Helpers for tests that drive a Backend: a Log that keeps every line as written, and a waiter
/// for the Responses of submitted requests.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/log.hpp"

namespace medsafe::test {

/// Keeps every line exactly as written (no redaction), so a test sees what a component wrote,
/// and the secrets it registered.
class CapturingLog : public Log {
 public:
  void write(LogLevel level, std::string_view source, std::string_view message) override {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::string(level == LogLevel::debug  ? "debug"
                                 : level == LogLevel::info ? "info"
                                                           : "other") +
                     " " + std::string(source) + ": " + std::string(message));
  }
  void add_secret(std::string secret) override {
    std::lock_guard lock(mutex_);
    secrets_.push_back(std::move(secret));
  }
  /// Redacts as the console log does, so that what a component hands on can be checked.
  [[nodiscard]] std::string redact(std::string text) const override {
    std::lock_guard lock(mutex_);
    return medsafe::redact(std::move(text), secrets_);
  }
  [[nodiscard]] LogLevel level() const noexcept override { return LogLevel::debug; }

  /// Every line so far, each ending in a newline.
  std::string text() {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& line : lines_) all += line + "\n";
    return all;
  }
  std::vector<std::string> secrets() {
    std::lock_guard lock(mutex_);
    return secrets_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
  std::vector<std::string> secrets_;
};

/// Collects the Responses of submitted requests; callbacks may come from any thread.
class Waiter {
 public:
  ResponseCallback callback() {
    return [this](Response&& response) {
      std::lock_guard lock(mutex_);
      responses_.push_back(std::move(response));
      cv_.notify_all();
    };
  }
  /// Waits (20 s at most) for `count` responses and returns them in arrival order.
  std::vector<Response> wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(
        cv_.wait_for(lock, std::chrono::seconds(20), [&] { return responses_.size() >= count; }))
        << "got " << responses_.size() << " of " << count << " responses";
    return responses_;
  }
  /// Waits for exactly one response.
  Response wait() {
    std::vector<Response> all = wait_for(1);
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? Response{} : std::move(all.front());
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Response> responses_;
};

}  // namespace medsafe::test
