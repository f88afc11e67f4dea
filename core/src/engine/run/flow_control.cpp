#include "engine/run/flow_control.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "engine/plugin/key_spec.hpp"
#include "engine/run/sampling.hpp"

namespace medsafe {

std::vector<KeySpec> flow_control_keys() {
  auto retry_on = std::make_shared<toml::array>();
  for (const char* reason : {"transport_error", "timeout", "stream_error", "408", "425", "429",
                             "500", "502", "503", "504"}) {
    retry_on->push_back(reason);
  }
  return {
      make_key("max_attempts", ValueType::integer,
               "attempts per request in all, the first included (1: never retry); each answer "
               "records how many it took",
               key_default(std::int64_t{4})),
      make_key(
          "retry_on", ValueType::string_list,
          "failures that are retried: transport_error, timeout, stream_error, and HTTP statuses",
          retry_on),
      make_key("backoff_initial_ms", ValueType::integer,
               "first retry delay; it doubles per attempt, with jitter (a Retry-After header wins)",
               key_default(std::int64_t{500})),
      make_key("backoff_max_ms", ValueType::integer, "longest retry delay",
               key_default(std::int64_t{30'000})),
      make_key("retry_after_max_s", ValueType::number,
               "the longest Retry-After (seconds or an HTTP date) a retry waits for; when a server "
               "asks for more, the attempt fails at once with that reason instead of waiting",
               key_default(120.0)),
      make_key("requests_per_minute", ValueType::number, "request rate limit (0: none)",
               key_default(0.0)),
      make_key("tokens_per_minute", ValueType::number,
               "token rate limit, prompt (estimated) and answer tokens (0: none)",
               key_default(0.0)),
      make_key(
          "adaptive_concurrency", ValueType::boolean,
          "on HTTP 429 halve the concurrency, then add one back per limit's worth of successes",
          key_default(true)),
  };
}

RetryPolicy RetryPolicy::from_config(const Config& core) {
  RetryPolicy policy;
  const std::int64_t attempts = core.integer("max_attempts");
  if (attempts < 1 || attempts > 100) throw core.error("max_attempts", "must be 1..100");
  policy.max_attempts = static_cast<int>(attempts);
  policy.on_transport_error = policy.on_timeout = policy.on_stream_error = false;
  policy.on_status.clear();
  for (const std::string& reason : core.strings("retry_on")) {
    if (reason == "transport_error") {
      policy.on_transport_error = true;
    } else if (reason == "timeout") {
      policy.on_timeout = true;
    } else if (reason == "stream_error") {
      policy.on_stream_error = true;
    } else {
      int status = 0;
      try {
        std::size_t used = 0;
        status = std::stoi(reason, &used);
        if (used != reason.size()) status = 0;
      } catch (const std::exception&) {
        status = 0;
      }
      if (status < 100 || status > 599) {
        throw core.error("retry_on", "has '" + reason +
                                         "': expected transport_error, timeout, stream_error "
                                         "or an HTTP status 100..599");
      }
      policy.on_status.push_back(status);
    }
  }
  const std::int64_t initial = core.integer("backoff_initial_ms");
  const std::int64_t most = core.integer("backoff_max_ms");
  if (initial < 0) throw core.error("backoff_initial_ms", "must not be negative");
  if (most < initial) throw core.error("backoff_max_ms", "must be at least backoff_initial_ms");
  policy.initial_backoff = std::chrono::milliseconds(initial);
  policy.max_backoff = std::chrono::milliseconds(most);
  const double retry_after_max = core.number("retry_after_max_s");
  // A day is already more than any run should sit still for one answer; the bound keeps the
  // wait representable in milliseconds.
  if (!(retry_after_max >= 0 && retry_after_max <= 86'400)) {
    throw core.error("retry_after_max_s", "must be 0..86400 seconds");
  }
  policy.retry_after_max_s = retry_after_max;
  return policy;
}

bool RetryPolicy::retryable(const Response& response) const {
  switch (response.outcome) {
    case Outcome::transport_error:
      return on_transport_error;
    case Outcome::timeout:
      return on_timeout;
    case Outcome::stream_error:
      return on_stream_error;
    case Outcome::http_error:
      return std::find(on_status.begin(), on_status.end(), response.http_status) != on_status.end();
    case Outcome::ok:
    case Outcome::malformed:
    case Outcome::cancelled:
    case Outcome::backend_error:
      return false;
  }
  return false;
}

std::string seconds_text(double seconds) {
  std::ostringstream out;
  if (!(std::fabs(seconds) < 1e15)) {
    out << std::setprecision(3) << seconds;  // a hostile 20-digit value: "1e+20", not 20 digits
    return out.str();
  }
  out << std::fixed << std::setprecision(3) << seconds;
  std::string text = out.str();
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text;
}

std::optional<std::string> RetryPolicy::excessive_wait(const Response& response) const {
  if (!response.retry_after_s || !(*response.retry_after_s > retry_after_max_s)) {
    return std::nullopt;
  }
  return "the server asked to wait " + seconds_text(*response.retry_after_s) +
         " s (Retry-After), more than retry_after_max_s = " + seconds_text(retry_after_max_s);
}

std::chrono::milliseconds RetryPolicy::delay(int attempt, const Response& response,
                                             std::uint64_t& random_state) const {
  if (response.retry_after_s && *response.retry_after_s >= 0) {
    // The runner fails an attempt whose wait is longer (excessive_wait); the bound here keeps
    // any other caller from parking on a hostile value.
    const double ms = std::min(*response.retry_after_s, retry_after_max_s) * 1000.0;
    return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
  }
  const int doublings = std::clamp(attempt - 1, 0, 30);
  const double base =
      std::min(static_cast<double>(initial_backoff.count()) * std::ldexp(1.0, doublings),
               static_cast<double>(max_backoff.count()));
  const double unit = static_cast<double>(splitmix64(random_state) >> 11) * 0x1.0p-53;
  return std::chrono::milliseconds(static_cast<std::int64_t>(base / 2 + unit * base / 2));
}

bool configuration_failure(const Response& response) noexcept {
  if (response.outcome == Outcome::transport_error) return response.unreachable;
  if (response.outcome != Outcome::http_error) return false;
  return response.http_status == 401 || response.http_status == 403 || response.http_status == 404;
}

FailFast FailFast::from_config(const Config& core) {
  const std::int64_t after = core.integer("fail_fast_after");
  if (after < 0 || after > 1'000'000) {
    throw core.error("fail_fast_after", "must be 0 (never) .. 1000000 attempts");
  }
  return FailFast(after);
}

bool FailFast::record(const Response& response, bool refused_wait) noexcept {
  if (after_ == 0 || !armed_) return false;
  if (response.outcome == Outcome::cancelled) return false;  // the run is ending anyway
  if (!refused_wait && !configuration_failure(response)) {
    armed_ = false;
    return false;
  }
  return ++failures_ == after_;
}

TokenBucket::TokenBucket(double rate_per_s, double capacity)
    : rate_per_s_(rate_per_s), capacity_(capacity), level_(capacity) {}

void TokenBucket::refill(TimePoint now) {
  if (updated_ != TimePoint{}) {
    const double seconds = std::chrono::duration<double>(now - updated_).count();
    level_ = std::min(capacity_, level_ + seconds * rate_per_s_);
  }
  updated_ = now;
}

TimePoint TokenBucket::available_at(TimePoint now, double amount) {
  if (!enabled()) return now;
  refill(now);
  // A request larger than the bucket passes once the bucket is full, or it would never pass.
  const double needed = std::min(amount, capacity_);
  if (level_ >= needed) return now;
  const double seconds = (needed - level_) / rate_per_s_;
  return now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

void TokenBucket::take(TimePoint now, double amount) {
  if (!enabled()) return;
  refill(now);
  level_ -= amount;
}

ModelGate::ModelGate(Settings settings) : settings_(settings), limit_(settings.concurrency) {
  if (settings_.requests_per_minute > 0) {
    const double per_s = settings_.requests_per_minute / 60.0;
    requests_ = TokenBucket(per_s, std::max(1.0, per_s));
  }
  if (settings_.tokens_per_minute > 0) {
    const double per_s = settings_.tokens_per_minute / 60.0;
    tokens_ = TokenBucket(per_s, std::max(1.0, per_s * 5));
  }
}

ModelGate::Settings ModelGate::settings_from(const Config& core) {
  Settings s;
  s.concurrency = static_cast<int>(core.integer("concurrency"));
  s.adaptive = core.boolean("adaptive_concurrency");
  s.requests_per_minute = core.number("requests_per_minute");
  s.tokens_per_minute = core.number("tokens_per_minute");
  if (s.requests_per_minute < 0) throw core.error("requests_per_minute", "must not be negative");
  if (s.tokens_per_minute < 0) throw core.error("tokens_per_minute", "must not be negative");
  return s;
}

FlowSettings FlowSettings::from_config(const Config& core) {
  FlowSettings s;
  s.gate = ModelGate::settings_from(core);
  s.retry = RetryPolicy::from_config(core);
  s.fail_fast_after = FailFast::from_config(core).after();
  return s;
}

TimePoint ModelGate::next_start(TimePoint now, double tokens) {
  if (in_flight_ >= limit_) return TimePoint::max();
  return std::max(requests_.available_at(now, 1.0), tokens_.available_at(now, tokens));
}

void ModelGate::started(TimePoint now, double tokens) {
  ++in_flight_;
  requests_.take(now, 1.0);
  tokens_.take(now, tokens);
}

void ModelGate::finished(TimePoint now, const Response& response, double extra_tokens) {
  --in_flight_;
  tokens_.take(now, extra_tokens);
  if (!settings_.adaptive) return;
  if (response.outcome == Outcome::http_error && response.http_status == 429) {
    // One decrease per second: a burst of 429s from one overload is one signal, not many.
    if (now - last_decrease_ >= std::chrono::seconds(1)) {
      limit_ = std::max(1, limit_ / 2);
      last_decrease_ = now;
      successes_at_limit_ = 0;
    }
  } else if (response.ok() && limit_ < settings_.concurrency) {
    if (++successes_at_limit_ >= limit_) {
      ++limit_;
      successes_at_limit_ = 0;
    }
  }
}

double estimate_tokens(std::string_view text) {
  return std::ceil(static_cast<double>(text.size()) / 4.0);
}

}  // namespace medsafe
