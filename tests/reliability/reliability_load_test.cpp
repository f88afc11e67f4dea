// Load measurements through the real binary against the simulated server over HTTP: a closed-loop
// sweep over concurrency shows the server's capacity knee, and an open-loop Poisson schedule
// keeps its planned rate and reports its send lag.
#include <gtest/gtest.h>

#include <iostream>

#include <map>
#include <string>
#include <vector>

#include "reliability_support.hpp"

namespace medsafe::reliability {
namespace {

using ReliabilitySlow = ReliabilityFixture;

double number(const std::map<std::string, std::string>& record, const std::string& column) {
  const auto found = record.find(column);
  if (found == record.end() || found->second.empty()) {
    ADD_FAILURE() << "no value in column " << column;
    return 0.0;
  }
  return std::stod(found->second);
}

TEST_F(ReliabilitySlow, OneRunFileGivesSafetyAndALatencySweepThatShowsTheCapacityKnee) {
  // 8 requests generate at once, each ~50 ms (20 ms to the first token, then 15 × 2 ms).
  auto server = start_sim_server("seed = 1\ncapacity = 8\nttft_ms = 20\nitl_ms = 2");
  RunFileSpec spec(data());
  spec.model_keys = "concurrency = 16";
  spec.limit_per_category = 4;
  spec.extra = R"([load.sweep]
levels = [1, 4, 16, 64]
requests = 64
warmup_requests = 4
max_tokens = 16
ignore_eos = true
)";
  write_file(scratch() / "run.toml", run_file(spec));
  const fs::path out = scratch() / "out";
  const ChildResult run =
      run_medsafe({"run", (scratch() / "run.toml").string(), "--out", out.string()},
                  run_environment(server->port()), scratch());
  ASSERT_EQ(run.exit_code, 0) << run.err;

  const auto summary = csv_records(out / "summary.csv");
  ASSERT_FALSE(summary.empty());
  bool overall = false;
  for (const auto& row : summary) {
    EXPECT_EQ(row.at("model"), "target");
    if (row.at("category") == "all") {
      overall = true;
      EXPECT_EQ(row.at("n"), "36");
      EXPECT_EQ(row.at("errors"), "0");
      EXPECT_FALSE(row.at("refusal_rate").empty());
    }
  }
  EXPECT_TRUE(overall) << "no row over all 36 items";

  std::map<int, std::map<std::string, std::string>> by_level;
  for (const auto& row : csv_records(out / "latency.csv")) {
    if (row.at("mode") != "concurrency") continue;
    EXPECT_EQ(row.at("model"), "target");
    by_level[static_cast<int>(number(row, "load"))] = row;
  }
  ASSERT_EQ(by_level.size(), 4U);
  for (auto& [level, row] : by_level) {
    EXPECT_EQ(row.at("requests"), "64") << level;
    EXPECT_EQ(row.at("failed"), "0") << level;
    EXPECT_EQ(row.at("phase"), "load/sweep/target/concurrency=" + std::to_string(level));
    // `valid` is not asserted: it judges the client's send lag against max_send_lag_ms (10 ms),
    // which a loaded two-core machine can exceed without anything being wrong.
    EXPECT_TRUE(row.at("valid") == "true" || row.at("valid") == "false") << level;
  }
  const auto rps = [&](int level) { return number(by_level[level], "req_per_s"); };
  const auto ttft_p99 = [&](int level) { return number(by_level[level], "ttft_p99_ms"); };
  // Below capacity more clients mean more throughput; beyond it requests queue for a slot, so the
  // time to first token grows. The ratios are large (about 4x, 2x and 4x), not timing noise.
  EXPECT_LT(rps(1), rps(4));
  EXPECT_LT(rps(4), rps(16));
  EXPECT_GT(ttft_p99(16), ttft_p99(4));
  EXPECT_GT(ttft_p99(64), ttft_p99(16));
  // The last level pushed past the previous one and the server's capacity (all 64 at once needs
  // a client that starts 64 requests before the first answer is back: an optimised build does,
  // a sanitizer build need not).
  EXPECT_GT(server->stats().max_in_flight, 16U);

  // The store holds each load point, with what it planned and sent.
  const auto points = query(out,
                            "SELECT level, planned, sent, warmup, status FROM load_points "
                            "WHERE load = 'sweep' ORDER BY ord");
  ASSERT_EQ(points.size(), 4U);
  for (const auto& point : points) {
    EXPECT_EQ(point[1], "64");
    EXPECT_EQ(point[2], "68");  // 4 warm-up requests + 64 measured
    EXPECT_EQ(point[3], "4");
    EXPECT_EQ(point[4], "complete");
  }
}

TEST_F(ReliabilitySlow, APoissonScheduleKeepsItsRateAndReportsItsSendLag) {
  constexpr double kRate = 200;
  constexpr double kSeconds = 10;
  auto server = start_sim_server("seed = 1\nrefusal_rate = 0");
  RunFileSpec spec(data());
  spec.model_keys = "concurrency = 8";
  spec.limit_per_category = 5;
  spec.judge = false;
  spec.safety = false;
  spec.extra = R"([load.p]
mode = "rate"
levels = [200]
arrival = "poisson"
duration_s = 10
requests = 0
)";
  write_file(scratch() / "run.toml", run_file(spec));
  const fs::path out = scratch() / "out";
  const ChildResult run =
      run_medsafe({"run", (scratch() / "run.toml").string(), "--out", out.string()},
                  run_environment(server->port()), scratch());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(wait_until_idle(*server));

  const auto points =
      query(out, "SELECT planned, sent, warmup, status, arrival FROM load_points WHERE load = 'p'");
  ASSERT_EQ(points.size(), 1U);
  const int planned = std::stoi(points[0][0]);
  const int sent = std::stoi(points[0][1]);
  const int warmup = std::stoi(points[0][2]);
  EXPECT_EQ(points[0][3], "complete");
  EXPECT_EQ(points[0][4], "poisson");
  // The schedule asked for rate × duration requests; the Poisson draw is seeded, so this count
  // is the same on every run, and within 3 % of the plan.
  const double expected = kRate * kSeconds;
  EXPECT_NEAR(sent - warmup, expected, 0.03 * expected);
  EXPECT_EQ(planned, sent - warmup);
  // The server saw exactly what the store says was sent, and nothing failed.
  EXPECT_EQ(server->log().size(), static_cast<std::size_t>(sent));
  const std::vector<StoredResponse> stored = stored_responses(out);
  EXPECT_EQ(stored.size(), static_cast<std::size_t>(sent));
  for (const StoredResponse& row : stored) EXPECT_EQ(row.outcome, "ok") << row.request_id;

  const auto latency = csv_records(out / "latency.csv");
  ASSERT_EQ(latency.size(), 1U);
  const auto& row = latency.front();
  EXPECT_EQ(row.at("mode"), "rate");
  EXPECT_EQ(number(row, "load"), kRate);
  EXPECT_EQ(row.at("requests"), std::to_string(sent - warmup));
  EXPECT_FALSE(row.at("send_lag_p99_ms").empty()) << "the send lag is not reported";
  EXPECT_GE(number(row, "send_lag_p99_ms"), 0.0);
  EXPECT_NEAR(number(row, "req_per_s"), kRate, 0.1 * kRate);
  std::cout << "poisson " << kRate << " req/s for " << kSeconds << " s: " << sent - warmup
            << " sent of " << expected << " planned by rate x duration ("
            << 100.0 * (sent - warmup - expected) / expected << " %), " << row.at("req_per_s")
            << " req/s measured, send lag p50 " << row.at("send_lag_p50_ms") << " ms, p99 "
            << row.at("send_lag_p99_ms") << " ms\n";
}

}  // namespace
}  // namespace medsafe::reliability
