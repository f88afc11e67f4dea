#include "engine/run/flow_control.hpp"

#include <gtest/gtest.h>

#include "engine/plugin/run_file.hpp"

namespace medsafe {
namespace {

using std::chrono::milliseconds;

Config model_config(std::string_view extra = "") {
  const std::string text = "plugin = \"sim\"\n" + std::string(extra);
  return Config::from_toml(text, model_core_schema());
}

Response failure(Outcome outcome, int status = 0) {
  Response r;
  r.outcome = outcome;
  r.http_status = status;
  return r;
}

TEST(RetryPolicy, DefaultsRetryTransientFailuresOnly) {
  const RetryPolicy policy = RetryPolicy::from_config(model_config());
  EXPECT_EQ(policy.max_attempts, 4);
  EXPECT_TRUE(policy.retryable(failure(Outcome::transport_error)));
  EXPECT_TRUE(policy.retryable(failure(Outcome::timeout)));
  EXPECT_TRUE(policy.retryable(failure(Outcome::stream_error)));
  EXPECT_TRUE(policy.retryable(failure(Outcome::http_error, 429)));
  EXPECT_TRUE(policy.retryable(failure(Outcome::http_error, 503)));
  EXPECT_FALSE(policy.retryable(failure(Outcome::http_error, 400)));
  EXPECT_FALSE(policy.retryable(failure(Outcome::http_error, 401)));
  EXPECT_FALSE(policy.retryable(failure(Outcome::malformed)));
  EXPECT_FALSE(policy.retryable(failure(Outcome::cancelled)));
  EXPECT_FALSE(policy.retryable(Response{}));
}

TEST(RetryPolicy, RetryOnIsConfigurableAndChecked) {
  const RetryPolicy policy =
      RetryPolicy::from_config(model_config("retry_on = [\"timeout\", \"502\"]\n"));
  EXPECT_TRUE(policy.retryable(failure(Outcome::timeout)));
  EXPECT_TRUE(policy.retryable(failure(Outcome::http_error, 502)));
  EXPECT_FALSE(policy.retryable(failure(Outcome::http_error, 503)));
  EXPECT_FALSE(policy.retryable(failure(Outcome::transport_error)));
  try {
    (void)RetryPolicy::from_config(model_config("retry_on = [\"sometimes\"]\n"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has 'sometimes'"), std::string::npos) << e.what();
  }
}

TEST(RetryPolicy, BackoffDoublesWithJitterAndHonoursRetryAfter) {
  const RetryPolicy policy =
      RetryPolicy::from_config(model_config("backoff_initial_ms = 100\nbackoff_max_ms = 1000\n"));
  std::uint64_t random = 42;
  const Response r = failure(Outcome::http_error, 503);
  for (int attempt = 1; attempt <= 6; ++attempt) {
    const auto base = std::min<std::int64_t>(100LL << (attempt - 1), 1000);
    const auto d = policy.delay(attempt, r, random).count();
    EXPECT_GE(d, base / 2) << attempt;  // equal jitter: half fixed ...
    EXPECT_LE(d, base) << attempt;      // ... half random
  }
  Response limited = failure(Outcome::http_error, 429);
  limited.retry_after_s = 1.5;
  EXPECT_EQ(policy.delay(1, limited, random), milliseconds(1500));
}

TEST(RetryPolicy, ARetryAfterBeyondTheCapFailsTheAttemptWithItsReason) {
  const RetryPolicy policy = RetryPolicy::from_config(model_config());
  EXPECT_EQ(policy.retry_after_max_s, 120.0);
  Response limited = failure(Outcome::http_error, 429);
  limited.retry_after_s = 86400;
  EXPECT_EQ(policy.excessive_wait(limited),
            "the server asked to wait 86400 s (Retry-After), more than retry_after_max_s = 120");
  // A delay is still bounded for any caller that asks despite that.
  std::uint64_t random = 1;
  EXPECT_EQ(policy.delay(1, limited, random), milliseconds(120'000));
  limited.retry_after_s = 120;  // exactly the cap is waited for
  EXPECT_EQ(policy.excessive_wait(limited), std::nullopt);
  EXPECT_EQ(policy.delay(1, limited, random), milliseconds(120'000));
  EXPECT_EQ(policy.excessive_wait(failure(Outcome::http_error, 503)), std::nullopt);

  const RetryPolicy small = RetryPolicy::from_config(model_config("retry_after_max_s = 0.5\n"));
  limited.retry_after_s = 1.25;
  EXPECT_EQ(small.excessive_wait(limited),
            "the server asked to wait 1.25 s (Retry-After), more than retry_after_max_s = 0.5");
  limited.retry_after_s = 1e20;  // a 21-digit header value is no reason to print 21 digits
  EXPECT_EQ(small.excessive_wait(limited),
            "the server asked to wait 1e+20 s (Retry-After), more than retry_after_max_s = 0.5");
  for (const char* bad :
       {"retry_after_max_s = -1\n", "retry_after_max_s = 1e9\n", "retry_after_max_s = nan\n"}) {
    try {
      (void)RetryPolicy::from_config(model_config(bad));
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("retry_after_max_s"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("0..86400"), std::string::npos) << e.what();
    }
  }
}

TEST(FailFast, OnlyConfigurationLikeFailuresCount) {
  Response refused = failure(Outcome::transport_error);
  refused.unreachable = true;
  EXPECT_TRUE(configuration_failure(refused));
  EXPECT_FALSE(configuration_failure(failure(Outcome::transport_error)));  // a reset, say
  for (const int status : {401, 403, 404}) {
    EXPECT_TRUE(configuration_failure(failure(Outcome::http_error, status))) << status;
  }
  for (const int status : {400, 429, 500, 503}) {
    EXPECT_FALSE(configuration_failure(failure(Outcome::http_error, status))) << status;
  }
  EXPECT_FALSE(configuration_failure(failure(Outcome::timeout)));
  EXPECT_FALSE(configuration_failure(Response{}));
}

TEST(FailFast, FiresOnceAtTheNthFailureInARowFromTheStart) {
  FailFast watch = FailFast::from_config(model_config("fail_fast_after = 3\n"));
  const Response unauthorized = failure(Outcome::http_error, 401);
  EXPECT_FALSE(watch.record(unauthorized, false));
  EXPECT_FALSE(watch.record(failure(Outcome::cancelled), false));  // neither counts nor disarms
  EXPECT_FALSE(watch.record(failure(Outcome::http_error, 429), true));  // a refused Retry-After
  EXPECT_TRUE(watch.record(unauthorized, false));
  EXPECT_EQ(watch.failures(), 3);
  EXPECT_FALSE(watch.record(unauthorized, false)) << "once";
}

TEST(FailFast, AnAnswerOrAnotherFailureFirstDisarmsIt) {
  FailFast answered(2);
  EXPECT_FALSE(answered.record(failure(Outcome::http_error, 401), false));
  EXPECT_FALSE(answered.record(Response{}, false));
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(answered.record(failure(Outcome::http_error, 401), false));
  FailFast other(2);
  EXPECT_FALSE(other.record(failure(Outcome::http_error, 500), false));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(other.record(failure(Outcome::http_error, 404), false));
  FailFast never = FailFast::from_config(model_config("fail_fast_after = 0\n"));
  for (int i = 0; i < 100; ++i)
    EXPECT_FALSE(never.record(failure(Outcome::http_error, 401), false));
  EXPECT_EQ(FailFast::from_config(model_config()).after(), 20);
  EXPECT_THROW((void)FailFast::from_config(model_config("fail_fast_after = -1\n")), Error);
}

TEST(FlowSettings, ReadsAModelsFlowControlAndRetryKeysOnce) {
  const FlowSettings defaults = FlowSettings::from_config(model_config());
  EXPECT_EQ(defaults.gate.concurrency, 8);
  EXPECT_EQ(defaults.fail_fast_after, 20);
  EXPECT_EQ(defaults.retry.max_attempts, RetryPolicy::from_config(model_config()).max_attempts);

  const FlowSettings s = FlowSettings::from_config(
      model_config("concurrency = 3\nadaptive_concurrency = false\nrequests_per_minute = 60\n"
                   "tokens_per_minute = 1000\nmax_attempts = 2\nretry_on = [\"429\"]\n"
                   "backoff_initial_ms = 10\nbackoff_max_ms = 20\nfail_fast_after = 5\n"));
  EXPECT_EQ(s.gate.concurrency, 3);
  EXPECT_FALSE(s.gate.adaptive);
  EXPECT_DOUBLE_EQ(s.gate.requests_per_minute, 60);
  EXPECT_DOUBLE_EQ(s.gate.tokens_per_minute, 1000);
  EXPECT_EQ(s.retry.max_attempts, 2);
  EXPECT_EQ(s.retry.on_status, std::vector<int>{429});
  EXPECT_FALSE(s.retry.on_timeout);
  EXPECT_EQ(s.retry.initial_backoff, milliseconds(10));
  EXPECT_EQ(s.retry.max_backoff, milliseconds(20));
  EXPECT_EQ(s.fail_fast_after, 5);
}

TEST(FlowSettings, ABadValueIsAnErrorNamingItsKey) {
  for (const std::string_view bad :
       {"requests_per_minute = -1\n", "max_attempts = 0\n", "fail_fast_after = -1\n"}) {
    try {
      (void)FlowSettings::from_config(model_config(bad));
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      const std::string key(bad.substr(0, bad.find(' ')));
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

TEST(TokenBucket, WaitsForRefill) {
  TokenBucket bucket(10.0, 2.0);  // 10 per second, burst of 2
  const TimePoint t0 = Clock::now();
  EXPECT_EQ(bucket.available_at(t0, 1), t0);
  bucket.take(t0, 1);
  bucket.take(t0, 1);
  const TimePoint next = bucket.available_at(t0, 1);
  EXPECT_NEAR(std::chrono::duration<double>(next - t0).count(), 0.1, 1e-6);
  // A request larger than the bucket passes once the bucket is full.
  EXPECT_NEAR(std::chrono::duration<double>(bucket.available_at(t0, 50) - t0).count(), 0.2, 1e-6);
}

TEST(ModelGate, ConcurrencyLimitBlocksUntilACompletion) {
  ModelGate gate({2, false, 0, 0});
  const TimePoint now = Clock::now();
  EXPECT_EQ(gate.next_start(now, 10), now);
  gate.started(now, 10);
  gate.started(now, 10);
  EXPECT_EQ(gate.next_start(now, 10), TimePoint::max());
  gate.finished(now, Response{}, 0);
  EXPECT_EQ(gate.next_start(now, 10), now);
}

TEST(ModelGate, HalvesOn429AndRecoversAdditively) {
  ModelGate gate({8, true, 0, 0});
  TimePoint now = Clock::now();
  gate.started(now, 1);
  gate.finished(now, failure(Outcome::http_error, 429), 0);
  EXPECT_EQ(gate.limit(), 4);
  gate.started(now, 1);
  gate.finished(now, failure(Outcome::http_error, 429), 0);
  EXPECT_EQ(gate.limit(), 4) << "a burst of 429s within a second is one signal";
  now += std::chrono::seconds(2);
  gate.started(now, 1);
  gate.finished(now, failure(Outcome::http_error, 429), 0);
  EXPECT_EQ(gate.limit(), 2);
  for (int i = 0; i < 2; ++i) {
    gate.started(now, 1);
    gate.finished(now, Response{}, 0);
  }
  EXPECT_EQ(gate.limit(), 3) << "one more after a limit's worth of successes";
  for (int i = 0; i < 100; ++i) {
    gate.started(now, 1);
    gate.finished(now, Response{}, 0);
  }
  EXPECT_EQ(gate.limit(), 8) << "never above the configured concurrency";
}

TEST(ModelGate, RequestRateLimitSpacesStarts) {
  ModelGate gate({100, false, 60.0, 0});  // one request per second
  const TimePoint t0 = Clock::now();
  gate.started(t0, 1);
  gate.finished(t0, Response{}, 0);
  EXPECT_NEAR(std::chrono::duration<double>(gate.next_start(t0, 1) - t0).count(), 1.0, 1e-6);
}

}  // namespace
}  // namespace medsafe
