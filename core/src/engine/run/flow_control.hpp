#pragma once
/// Per-model flow control: retries with backoff, request and token rate limits, and a
/// concurrency limit that backs off on 429 and recovers (additive increase, multiplicative
/// decrease).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/clock.hpp"
#include "medsafe/config.hpp"

namespace medsafe {

/// When and how often a failed request is asked again.
struct RetryPolicy {
  int max_attempts = 4;  ///< attempts in all, the first included; 1 = never retry
  bool on_transport_error = true;
  bool on_timeout = true;
  bool on_stream_error = true;
  std::vector<int> on_status = {408, 425, 429, 500, 502, 503, 504};
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
  double retry_after_max_s = 120;  ///< the longest Retry-After waited for; beyond, it fails

  /// Reads the model's retry keys (max_attempts, retry_on, backoff_initial_ms, backoff_max_ms,
  /// retry_after_max_s).
  [[nodiscard]] static RetryPolicy from_config(const Config& core);

  /// Whether this failure is worth another attempt (not counting max_attempts).
  [[nodiscard]] bool retryable(const Response& response) const;
  /// When the server's Retry-After asks for more than retry_after_max_s: why the attempt fails
  /// instead of waiting ("the server asked to wait 86400 s (Retry-After), more than
  /// retry_after_max_s = 120"). Nullopt when there is no such wait.
  [[nodiscard]] std::optional<std::string> excessive_wait(const Response& response) const;
  /// The wait before attempt `attempt + 1` after `attempt` failed: the server's Retry-After when
  /// it sent one (at most retry_after_max_s), else exponential backoff with equal jitter (half
  /// fixed, half random).
  [[nodiscard]] std::chrono::milliseconds delay(int attempt, const Response& response,
                                                std::uint64_t& random_state) const;
};

/// A number of seconds as people read it: "120", "1.5", "86400".
[[nodiscard]] std::string seconds_text(double seconds);

/// Whether a failure is one that asking again seldom mends, because it says the model's
/// configuration is wrong: no connection at all (Response::unreachable: refused, unknown host,
/// TLS), or HTTP 401, 403 or 404 (key, permission, URL or model name).
[[nodiscard]] bool configuration_failure(const Response& response) noexcept;

/// Watches a model's first attempts: when the first `after` of them all fail with a
/// configuration_failure (or on a Retry-After beyond retry_after_max_s), the run should stop
/// rather than fail every request alike. Any other outcome first (an answer, another failure)
/// disarms it for the rest of the run.
class FailFast {
 public:
  explicit FailFast(std::int64_t after = 0) noexcept : after_(after) {}
  /// Reads fail_fast_after (0: never).
  [[nodiscard]] static FailFast from_config(const Config& core);

  /// Counts one attempt; `refused_wait` when it failed on a Retry-After beyond the cap. True
  /// exactly once: at the attempt that makes `after` such failures in a row from the start.
  bool record(const Response& response, bool refused_wait) noexcept;
  [[nodiscard]] std::int64_t failures() const noexcept { return failures_; }
  [[nodiscard]] std::int64_t after() const noexcept { return after_; }

 private:
  std::int64_t after_;
  std::int64_t failures_ = 0;
  bool armed_ = true;
};

/// A token bucket: `rate_per_s` refills, up to `capacity`. A debit may take it below zero; then
/// nothing passes until it has refilled.
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double rate_per_s, double capacity);
  [[nodiscard]] bool enabled() const noexcept { return rate_per_s_ > 0; }
  /// When `amount` could be taken (now when it can be now).
  [[nodiscard]] TimePoint available_at(TimePoint now, double amount);
  void take(TimePoint now, double amount);

 private:
  void refill(TimePoint now);
  double rate_per_s_ = 0;
  double capacity_ = 0;
  double level_ = 0;
  TimePoint updated_{};
};

/// Decides when a model may take another request.
class ModelGate {
 public:
  struct Settings {
    int concurrency = 8;
    bool adaptive = true;            ///< halve on 429, +1 after a limit's worth of successes
    double requests_per_minute = 0;  ///< 0: no limit
    double tokens_per_minute = 0;    ///< 0: no limit
  };

  explicit ModelGate(Settings settings);
  /// Reads concurrency, adaptive_concurrency, requests_per_minute, tokens_per_minute.
  [[nodiscard]] static Settings settings_from(const Config& core);

  /// Now, when a request of `tokens` (estimated) may start; a later time when a rate limit says
  /// wait; TimePoint::max() when the concurrency limit is reached (wait for a completion).
  [[nodiscard]] TimePoint next_start(TimePoint now, double tokens);
  void started(TimePoint now, double tokens);
  /// Records a completion; `extra_tokens` are tokens learned only now (the answer's).
  void finished(TimePoint now, const Response& response, double extra_tokens);

  [[nodiscard]] int limit() const noexcept { return limit_; }
  [[nodiscard]] int in_flight() const noexcept { return in_flight_; }

 private:
  Settings settings_;
  int limit_;
  int in_flight_ = 0;
  int successes_at_limit_ = 0;
  TimePoint last_decrease_{};
  TokenBucket requests_;
  TokenBucket tokens_;
};

/// A model's flow-control and retry settings: its core keys, read and checked once when the
/// run's components are made (engine/assembly), for the runner and the load runner.
struct FlowSettings {
  ModelGate::Settings gate;          ///< concurrency, adaptive_concurrency, request/token rates
  RetryPolicy retry;                 ///< max_attempts, retry_on, backoff_*, retry_after_max_s
  std::int64_t fail_fast_after = 0;  ///< fail_fast_after (0: never)

  /// Reads them all (ModelGate::settings_from, RetryPolicy::from_config, FailFast::from_config).
  [[nodiscard]] static FlowSettings from_config(const Config& core);
};

/// A rough token count of a text (about four characters a token), for rate limiting only.
[[nodiscard]] double estimate_tokens(std::string_view text);

/// The core keys of a model that flow control reads, for the run-file schema.
[[nodiscard]] std::vector<KeySpec> flow_control_keys();

}  // namespace medsafe
