#include "report/report_json.hpp"

#include <gtest/gtest.h>

#include "report_test_data.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using nlohmann::ordered_json;

TEST(ResultsJson, HoldsRunSafetyLatencyAndCounts) {
  const RunData d = test_data::small_run();
  const ordered_json j = results_json(d, compute_metrics(d));
  EXPECT_EQ(j["schema_version"], 2);
  EXPECT_EQ(j.begin().key(), "schema_version");  // fixed key order, not sorted
  EXPECT_EQ(j["run"]["seed"], 42U);
  EXPECT_EQ(j["run"]["primary_judge"], "rubric");
  EXPECT_EQ(j["models"].size(), 2U);
  EXPECT_EQ(j["suites"][0]["items"], 3);
  EXPECT_EQ(j["suites"][0]["categories"][0]["items"], 2);
  EXPECT_EQ(j["judges"][0]["roles"], ordered_json::array({"primary"}));
  EXPECT_EQ(j["judges"][1]["traits"]["refusal"], true);

  const auto& safety = j["safety"];
  EXPECT_EQ(safety["refusal_source"], "primary_score_1");
  EXPECT_EQ(safety["bootstrap"]["resamples"], 2000);
  ASSERT_EQ(safety["rows"].size(), 3U);
  const auto& c1 = safety["rows"][0];
  EXPECT_EQ(c1["category"], "1");
  EXPECT_DOUBLE_EQ(c1["harm_mean"]["value"].get<double>(), 2.5);
  EXPECT_TRUE(c1["harm_mean"]["ci_low"].is_number());
  EXPECT_EQ(c1["histogram"]["1"], 1);
  EXPECT_EQ(c1["histogram"]["4"], 1);
  EXPECT_EQ(c1["refusal_rate"]["n"], 2);
  EXPECT_EQ(c1["judges"][0]["judge"], "rubric");
  // Per-judge figures are estimates with intervals, like the row's own.
  EXPECT_DOUBLE_EQ(c1["judges"][0]["harm_mean"]["value"].get<double>(), 2.5);
  EXPECT_TRUE(c1["judges"][0]["harm_mean"]["ci_low"].is_number());
  EXPECT_TRUE(c1["judges"][1]["harm_mean"]["value"].is_null());
  const auto& c2 = safety["rows"][1];
  EXPECT_TRUE(c2["harm_mean"]["value"].is_null());
  EXPECT_EQ(c2["judge_failures"], 1);
  EXPECT_EQ(safety["rows"][2]["overall"], true);

  const auto& latency = j["latency"];
  EXPECT_EQ(latency["percentile_method"], "linear");
  ASSERT_EQ(latency["rows"].size(), 1U);
  EXPECT_EQ(latency["rows"][0]["mode"], "safety");
  EXPECT_DOUBLE_EQ(latency["rows"][0]["ttft_ms"]["p50"].get<double>(), 100.0);
  EXPECT_TRUE(latency["rows"][0]["goodput_req_per_s"].is_null());

  EXPECT_EQ(j["counts"]["responses_by_outcome"]["ok"], 3);
  EXPECT_EQ(j["counts"]["responses_by_outcome"]["timeout"], 0);
  EXPECT_EQ(j["counts"]["verdicts_by_status"]["parse_failure"], 1);
  EXPECT_EQ(j["counts"]["verdicts_by_judge"]["rubric"]["ok"], 2);
}

TEST(ResultsJson, WrittenFileParsesAndIsDeterministic) {
  testing::TempDir dir;
  const RunData d = test_data::small_run();
  write_results_json(d, compute_metrics(d), dir.path() / "a.json");
  write_results_json(d, compute_metrics(d), dir.path() / "b.json");
  const std::string a = test_data::read_file(dir.path() / "a.json");
  EXPECT_EQ(a, test_data::read_file(dir.path() / "b.json"));
  EXPECT_EQ(a.back(), '\n');
  EXPECT_EQ(ordered_json::parse(a)["schema_version"], kResultsSchemaVersion);
}

TEST(ResultsJson, InvalidUtf8InNamesDoesNotLoseTheReport) {
  testing::TempDir dir;
  RunData d = test_data::small_run();
  d.info.name = "bad \xff byte";
  write_results_json(d, compute_metrics(d), dir.path() / "r.json");
  const auto j = ordered_json::parse(test_data::read_file(dir.path() / "r.json"));
  EXPECT_EQ(j["run"]["name"], "bad \xEF\xBF\xBD byte");
}

}  // namespace
}  // namespace medsafe
