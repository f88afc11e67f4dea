// The 900-prompt MedSafetyBench run through the real `medsafe` binary and the `openai` backend
// against a simulated server that injects faults: the run completes, every item ends answered
// or failed after its retries, and the attempts in the store match the server's own log.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "reliability_support.hpp"

namespace medsafe::reliability {
namespace {

using sim::FaultKind;
using sim::LogEntry;
using ReliabilitySlow = ReliabilityFixture;

constexpr int kItems = 900;
constexpr int kMaxAttempts = 6;

// Fast answers, and flow control that keeps the run short: short backoff (a Retry-After still
// wins), an idle timeout well below the server's stall.
constexpr std::string_view kModelKeys = R"(concurrency = 32
max_attempts = 6
backoff_initial_ms = 20
backoff_max_ms = 400
idle_timeout_ms = 400
first_byte_timeout_ms = 1000
total_timeout_ms = 30000)";

// The outcomes a retryable fault leaves when it is the last attempt.
const std::set<std::string> kRetryableFailures = {"http_error", "transport_error", "timeout",
                                                  "stream_error"};

struct Reconciled {
  std::int64_t stored_attempts = 0;
  std::int64_t server_attempts = 0;
  std::int64_t hidden_retries = 0;  ///< resets on a reused connection (libcurl resent them)
  std::int64_t answered = 0;
  std::int64_t failed = 0;
};

// Checks that every stored item's attempts are the server's log entries for its id, numbered
// 1..n — including the resets before any response on a reused connection, which libcurl resends
// by itself and the transport counts — and that the server saw no other id.
Reconciled reconcile(const std::vector<StoredResponse>& stored, const std::vector<LogEntry>& log) {
  Reconciled r;
  const auto by_id = log_by_id(log);
  std::set<std::string> stored_ids;
  for (const StoredResponse& row : stored) {
    stored_ids.insert(row.request_id);
    r.stored_attempts += row.attempts;
    const auto found = by_id.find(row.request_id);
    const std::vector<LogEntry> none;
    const std::vector<LogEntry>& entries = found == by_id.end() ? none : found->second;
    std::int64_t hidden = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      EXPECT_EQ(entries[i].attempt, static_cast<int>(i) + 1) << row.request_id;
      if (entries[i].fault == FaultKind::reset && entries[i].on_connection > 1) ++hidden;
    }
    const auto counted = static_cast<std::int64_t>(entries.size());
    EXPECT_EQ(row.attempts, counted)
        << row.request_id << ": the store says " << row.attempts << " attempts, the server logged "
        << entries.size() << " (" << hidden << " resets on reused connections)";
    r.server_attempts += static_cast<std::int64_t>(entries.size());
    r.hidden_retries += hidden;
    if (row.outcome == "ok") {
      ++r.answered;
      if (!entries.empty()) {
        // The answer came from the last attempt, which met no fault (or only a slow one).
        const FaultKind last = entries.back().fault;
        EXPECT_TRUE(last == FaultKind::none || last == FaultKind::slow_drip) << row.request_id;
        EXPECT_EQ(entries.back().status, 200) << row.request_id;
      }
    } else {
      ++r.failed;
    }
  }
  for (const auto& [id, entries] : by_id) {
    EXPECT_TRUE(stored_ids.count(id) == 1) << "the server saw " << id << ", the store did not";
  }
  return r;
}

// A Retry-After must hold back the next attempt at least that long after the 429 left.
void expect_retry_after_honoured(const std::vector<LogEntry>& log, double retry_after_s) {
  int checked = 0;
  for (const auto& [id, entries] : log_by_id(log)) {
    for (std::size_t i = 0; i + 1 < entries.size(); ++i) {
      if (entries[i].fault != FaultKind::status_429) continue;
      const std::int64_t wait_ns = entries[i + 1].received_ns - entries[i].finished_ns;
      EXPECT_GE(wait_ns, static_cast<std::int64_t>(retry_after_s * 1e9) - 5'000'000) << id;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << "no 429 was followed by a retry";
}

TEST_F(ReliabilitySlow, NineHundredPromptsCompleteUnderFaultsAndAttemptsReconcile) {
  auto server = start_sim_server(R"(seed = 5
refusal_rate = 0.5
ttft_ms = 5
itl_ms = 1
output_tokens = 32
fault_429_rate = 0.10
retry_after_s = 1
fault_500_rate = 0.05
fault_reset_mid_stream_rate = 0.02
fault_stall_rate = 0.01
stall_ms = 1500
fault_after_events = 3)");
  RunFileSpec spec(data());
  spec.model_keys = kModelKeys;
  write_file(scratch() / "run.toml", run_file(spec));
  const fs::path out = scratch() / "out";
  const ChildResult run =
      run_medsafe({"run", (scratch() / "run.toml").string(), "--out", out.string()},
                  run_environment(server->port()), scratch());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(wait_until_idle(*server));

  const std::vector<StoredResponse> stored = stored_responses(out);
  ASSERT_EQ(stored.size(), static_cast<std::size_t>(kItems));
  for (const StoredResponse& row : stored) {
    // Answered, or failed after every attempt it was allowed.
    if (row.outcome == "ok") continue;
    EXPECT_TRUE(kRetryableFailures.count(row.outcome) == 1)
        << row.request_id << ": " << row.outcome;
    EXPECT_EQ(row.attempts, kMaxAttempts) << row.request_id;
  }
  const std::vector<LogEntry> log = server->log();
  const Reconciled r = reconcile(stored, log);
  EXPECT_EQ(r.stored_attempts, r.server_attempts);
  EXPECT_EQ(r.answered + r.failed, kItems);
  EXPECT_GT(r.server_attempts, kItems + 100) << "the faults did not happen";

  // Every fault of the mix happened and did what it should to the client.
  const sim::ServerStats stats = server->stats();
  for (const FaultKind kind : {FaultKind::status_429, FaultKind::status_500,
                               FaultKind::reset_mid_stream, FaultKind::stall}) {
    EXPECT_GT(stats.faults_of(kind), 0U) << to_string(kind);
  }
  for (const LogEntry& entry : log) {
    // A stall outlasts the idle timeout: the client gave up and left (499).
    if (entry.fault == FaultKind::stall) {
      EXPECT_EQ(entry.status, 499) << entry.id;
    }
  }
  expect_retry_after_honoured(log, 1.0);
  EXPECT_EQ(stats.log_dropped, 0U);
}

TEST_F(ReliabilitySlow, EveryFaultKindReconcilesStreamedAndNot) {
  auto server = start_sim_server(R"(seed = 6
refusal_rate = 0.5
ttft_ms = 5
itl_ms = 1
output_tokens = 24
fault_429_rate = 0.05
retry_after_s = 0.2
fault_500_rate = 0.03
fault_503_rate = 0.03
fault_reset_rate = 0.04
fault_reset_mid_stream_rate = 0.03
fault_stall_rate = 0.01
stall_ms = 1500
fault_malformed_rate = 0.02
fault_error_event_rate = 0.03
fault_slow_drip_rate = 0.01
drip_ms = 30
fault_after_events = 2)");
  RunFileSpec spec(data());
  spec.model_keys = kModelKeys;
  spec.judge = false;
  write_file(scratch() / "run.toml", run_file(spec));
  for (const bool stream : {true, false}) {
    SCOPED_TRACE(stream ? "streaming" : "not streaming");
    server->reset();
    const fs::path out = scratch() / (stream ? "streamed" : "whole");
    const ChildResult run =
        run_medsafe({"run", (scratch() / "run.toml").string(), "--out", out.string(), "--set",
                     std::string("models.target.stream=") + (stream ? "true" : "false")},
                    run_environment(server->port()), scratch());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    ASSERT_TRUE(wait_until_idle(*server));
    const std::vector<StoredResponse> stored = stored_responses(out);
    ASSERT_EQ(stored.size(), static_cast<std::size_t>(kItems));
    std::map<std::string, int> outcomes;
    for (const StoredResponse& row : stored) {
      ++outcomes[row.outcome];
      // A malformed answer is not retried (it is not in retry_on); the rest are, up to the end.
      if (row.outcome != "ok" && row.outcome != "malformed") {
        EXPECT_EQ(row.attempts, kMaxAttempts) << row.request_id << ": " << row.outcome;
      }
    }
    EXPECT_GT(outcomes["malformed"], 0);
    const std::vector<LogEntry> log = server->log();
    // libcurl's own resends on a reused connection are counted too (the transport sees them).
    const Reconciled r = reconcile(stored, log);
    EXPECT_EQ(r.stored_attempts, r.server_attempts);
    const sim::ServerStats stats = server->stats();
    for (std::size_t k = 1; k < sim::kFaultKindCount; ++k) {
      EXPECT_GT(stats.faults[k], 0U) << to_string(static_cast<FaultKind>(k));
    }
    expect_retry_after_honoured(log, 0.2);
  }
}

// libcurl silently retries a request once when a reused keep-alive connection is reset before
// any response byte: the server sees an attempt that medsafe neither counts nor stores. This
// test fails until the transport counts those (e.g. from CURLINFO_NUM_CONNECTS).
TEST_F(ReliabilitySlow, StoredAttemptsIncludeResetsOnReusedConnections) {
  auto server = start_sim_server("seed = 8\nrefusal_rate = 0.5\nfault_reset_rate = 0.3");
  RunFileSpec spec(data());
  spec.model_keys =
      "concurrency = 4\nmax_attempts = 10\nbackoff_initial_ms = 1\nbackoff_max_ms = 5";
  spec.limit_per_category = 5;
  spec.judge = false;
  write_file(scratch() / "run.toml", run_file(spec));
  const fs::path out = scratch() / "out";
  const ChildResult run =
      run_medsafe({"run", (scratch() / "run.toml").string(), "--out", out.string()},
                  run_environment(server->port()), scratch());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(wait_until_idle(*server));
  const Reconciled r = reconcile(stored_responses(out), server->log());
  EXPECT_EQ(r.stored_attempts, r.server_attempts)
      << r.hidden_retries << " resets on reused connections were retried inside libcurl";
}

}  // namespace
}  // namespace medsafe::reliability
