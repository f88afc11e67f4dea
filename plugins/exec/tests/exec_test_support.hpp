#pragma once
/// Test support for the exec plugin: configurations from its manifests, a log that keeps its
/// lines, and collectors that wait for answers arriving on other threads.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "medsafe/judge.hpp"
#include "medsafe/log.hpp"
#include "medsafe/manifest.hpp"

namespace medsafe::testing {

/// The Python interpreter the tests run programs with ("" when none was found).
inline std::string python() { return EXEC_TEST_PYTHON; }

#define EXEC_REQUIRE_PYTHON()                                                       \
  if (::medsafe::testing::python().empty()) {                                       \
    GTEST_SKIP() << "no Python 3 interpreter was found: the exec tests run Python " \
                    "programs that speak the protocol";                             \
  }

/// A TOML string-list of the fake program in `mode` (with `arg`).
inline std::string fake_command(const std::string& mode, const std::string& arg = "") {
  std::string list = "['" + python() + "', '" + EXEC_FAKE_PROGRAM + "', '" + mode + "'";
  if (!arg.empty()) list += ", '" + arg + "'";
  return list + "]";
}

inline Config exec_config(const std::string& toml, bool judge = false) {
  static const ConfigSchema backend = read_manifest(EXEC_MANIFEST).config;
  static const ConfigSchema judge_schema = read_manifest(EXEC_JUDGE_MANIFEST).config;
  return Config::from_toml(toml, judge ? judge_schema : backend, "run.toml");
}

/// A Log that keeps every line ("level source: message").
class KeptLog final : public Log {
 public:
  void write(LogLevel level, std::string_view source, std::string_view message) override {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::to_string(static_cast<int>(level)) + " " + std::string(source) + ": " +
                     std::string(message));
  }
  void add_secret(std::string /*secret*/) override {}
  [[nodiscard]] std::string redact(std::string text) const override { return text; }
  [[nodiscard]] LogLevel level() const noexcept override { return LogLevel::debug; }

  [[nodiscard]] bool contains(std::string_view text) const {
    std::lock_guard lock(mutex_);
    for (const std::string& line : lines_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
  [[nodiscard]] std::string all() const {
    std::lock_guard lock(mutex_);
    std::string text;
    for (const std::string& line : lines_) text += line + "\n";
    return text;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

/// Collects values delivered from any thread; wait() blocks until `n` arrived (or a minute).
template <typename Value>
class Collector {
 public:
  std::function<void(Value&&)> callback(std::size_t slot) {
    {
      std::lock_guard lock(mutex_);
      if (values_.size() <= slot) values_.resize(slot + 1);
    }
    return [this, slot](Value&& value) {
      std::lock_guard lock(mutex_);
      values_[slot] = std::move(value);
      ++arrived_;
      cv_.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::seconds limit = std::chrono::seconds(60)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return arrived_ >= n; });
  }
  std::size_t arrived() const {
    std::lock_guard lock(mutex_);
    return arrived_;
  }
  Value& operator[](std::size_t slot) {
    std::lock_guard lock(mutex_);
    return values_.at(slot);
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Value> values_;
  std::size_t arrived_ = 0;
};

inline Request user_request(const std::string& text) {
  Request request;
  request.id = "req/" + text;
  request.messages.push_back(Message{"user", text});
  return request;
}

}  // namespace medsafe::testing
