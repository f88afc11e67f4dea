// A canary API key given through api_key_env reaches the server (it checks it) and appears
// nowhere else: not in the run directory's files, not on stdout or stderr, at any log level,
// also when requests fail and when the server refuses the key.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "reliability_support.hpp"

namespace medsafe::reliability {
namespace {

using Reliability = ReliabilityFixture;

constexpr std::string_view kCanary = "sk-medsafe-canary-7f3a9c2e51d84b06";
constexpr std::string_view kWrongCanary = "sk-medsafe-canary-wrong-c4e1a9";
constexpr std::string_view kKeyVariable = "MEDSAFE_RELIABILITY_API_KEY";

void expect_nowhere(const fs::path& out, const ChildResult& run, std::string_view secret) {
  EXPECT_EQ(run.out.find(secret), std::string::npos) << run.out;
  EXPECT_EQ(run.err.find(secret), std::string::npos) << run.err;
  for (const fs::path& file : files_containing(out, secret)) ADD_FAILURE() << "leaked in " << file;
}

TEST_F(Reliability, ACanaryKeyAppearsNowhereAtAnyLogLevel) {
  auto server = start_sim_server(kVariedFaults, std::string(kCanary));
  RunFileSpec spec(data());
  spec.model_keys = "api_key_env = \"" + std::string(kKeyVariable) +
                    "\"\nconcurrency = 8\nbackoff_initial_ms = 1\nbackoff_max_ms = 10";
  spec.limit_per_category = 3;
  write_file(scratch() / "run.toml", run_file(spec));
  const Environment env =
      run_environment(server->port(), {{std::string(kKeyVariable), std::string(kCanary)}});

  std::size_t expected_requests = 0;
  for (const std::string level : {"debug", "info", "warn", "error", "off"}) {
    SCOPED_TRACE("--log-level " + level);
    const fs::path out = scratch() / ("out-" + level);
    const ChildResult run = run_medsafe(
        {"run", (scratch() / "run.toml").string(), "--out", out.string(), "--log-level", level},
        env, scratch());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    if (level == "debug") {
      EXPECT_NE(run.err.find("debug"), std::string::npos) << "no debug output: " << run.err;
    }
    expect_nowhere(out, run, kCanary);
    for (const StoredResponse& row : stored_responses(out)) {
      expected_requests += static_cast<std::size_t>(row.attempts);
    }
    // The other commands that read the run: its reports rebuilt, the run file checked.
    const ChildResult report =
        run_medsafe({"report", out.string(), "--log-level", level}, env, scratch());
    EXPECT_EQ(report.exit_code, 0) << report.err;
    expect_nowhere(out, report, kCanary);
    const ChildResult validate = run_medsafe(
        {"validate", (scratch() / "run.toml").string(), "--log-level", level}, env, scratch());
    EXPECT_EQ(validate.exit_code, 0) << validate.err;
    expect_nowhere(out, validate, kCanary);
  }
  ASSERT_TRUE(wait_until_idle(*server));
  // The server did get the key, on every attempt, and the failures did happen.
  const std::vector<sim::LogEntry> log = server->log();
  EXPECT_EQ(log.size(), expected_requests);
  for (const sim::LogEntry& entry : log) EXPECT_TRUE(entry.authorized) << entry.id;
  EXPECT_EQ(server->stats().unauthorized, 0U);
  EXPECT_GT(server->stats().errors, 0U);
}

TEST_F(Reliability, ARefusedKeyAppearsNowhereEither) {
  auto server = start_sim_server("seed = 4", std::string(kCanary));
  RunFileSpec spec(data());
  spec.model_keys = "api_key_env = \"" + std::string(kKeyVariable) + "\"\nconcurrency = 4";
  spec.limit_per_category = 1;
  write_file(scratch() / "run.toml", run_file(spec));
  const fs::path out = scratch() / "out";
  const ChildResult run = run_medsafe(
      {"run", (scratch() / "run.toml").string(), "--out", out.string(), "--log-level", "debug"},
      run_environment(server->port(), {{std::string(kKeyVariable), std::string(kWrongCanary)}}),
      scratch());
  // Failed requests are results, not a failed run.
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const StoredResponse& row : stored_responses(out)) {
    EXPECT_EQ(row.outcome, "http_error") << row.request_id;
    EXPECT_EQ(row.http_status, 401) << row.request_id;
  }
  EXPECT_EQ(server->stats().unauthorized, 9U);
  expect_nowhere(out, run, kWrongCanary);
  expect_nowhere(out, run, kCanary);
}

}  // namespace
}  // namespace medsafe::reliability
