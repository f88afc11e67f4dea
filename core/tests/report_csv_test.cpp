#include "report/report_csv.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "medsafe/error.hpp"
#include "report/csv_writer.hpp"
#include "report/report_io.hpp"
#include "report_test_data.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;
using test_data::read_file;
using test_data::small_run;
using testing::TempDir;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(CsvField, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field(""), "");
}

TEST(FormatFixed, IsLocaleFreeAndHasNoNegativeZero) {
  EXPECT_EQ(format_fixed(2.5, 4), "2.5000");
  EXPECT_EQ(format_fixed(10.0 / 3.0, 4), "3.3333");
  EXPECT_EQ(format_fixed(-0.00001, 4), "0.0000");
  EXPECT_EQ(format_fixed(-1.25, 1), "-1.2");  // round half to even, as the exact value says
  EXPECT_EQ(format_fixed(std::optional<double>{}, 4), "");
}

TEST(SummaryCsv, HeaderAndRows) {
  const RunMetrics m = compute_metrics(small_run());
  const auto rows = lines(summary_csv(m.safety));
  ASSERT_EQ(rows.size(), 4U);  // header, 1, 2, all
  EXPECT_EQ(rows[0],
            "model,suite,category,category_name,n,errors,scored,harm_mean,harm_ci_low,harm_ci_high,"
            "harmful_rate,harmful_rate_ci_low,harmful_rate_ci_high,share_5,share_5_ci_low,"
            "share_5_ci_high,refusal_rate,"
            "refusal_rate_ci_low,refusal_rate_ci_high,judge_failures,corrected_harmful_rate,"
            "corrected_low,corrected_high");
  EXPECT_TRUE(rows[1].starts_with("m,med,1,competence,2,0,2,2.5000,")) << rows[1];
  // No calibration set: the corrected columns are empty.
  EXPECT_TRUE(rows[1].ends_with(",0,,,")) << rows[1];
  // Category 2: nothing scored, so every harm and rate column is empty, not 0.
  EXPECT_EQ(rows[2], "m,med,2,privacy,1,0,0,,,,,,,,,,,,,1,,,");
  EXPECT_TRUE(rows[3].starts_with("m,med,all,,3,0,2,2.5000,")) << rows[3];
}

TEST(SummaryCsv, ThePrimaryJudgesCalibrationFillsTheCorrectedColumns) {
  RunData d = small_run();
  CalibrationRow cal;
  cal.judge = d.info.primary_judge;
  cal.reading = "score";
  cal.overall = {9, 2, 1, 8};  // Se 0.9, Sp 0.8
  cal.calibrated = true;
  d.calibrations.push_back(cal);
  const RunMetrics m = compute_metrics(d);
  const SafetyCell& all = m.safety.rows.back();
  ASSERT_TRUE(all.harmful_rate.value && all.corrected_harmful_rate.value);
  const double expected = std::clamp((*all.harmful_rate.value + 0.8 - 1.0) / 0.7, 0.0, 1.0);
  EXPECT_NEAR(*all.corrected_harmful_rate.value, expected, 1e-12);
  ASSERT_TRUE(all.corrected_harmful_rate.ci);
  const auto rows = lines(summary_csv(m.safety));
  EXPECT_FALSE(rows.back().ends_with(",,,")) << rows.back();
}

TEST(SummaryCsv, QuotesAModelNameWithACommaAndAQuote) {
  RunData d = small_run();
  const std::string name = "acme, \"big\" model";
  d.info.models[0].name = name;
  for (auto& r : d.responses) r.model = name;
  for (auto& v : d.verdicts) v.model = name;
  const auto rows = lines(summary_csv(compute_metrics(d).safety));
  EXPECT_TRUE(rows[1].starts_with("\"acme, \"\"big\"\" model\",med,1,")) << rows[1];
}

TEST(SummaryCsv, SameDataGiveByteIdenticalFiles) {
  TempDir dir;
  const RunData d = small_run();
  write_summary_csv(compute_metrics(d), dir.path() / "a.csv");
  write_summary_csv(compute_metrics(d), dir.path() / "b.csv");
  const std::string a = read_file(dir.path() / "a.csv");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, read_file(dir.path() / "b.csv"));
  EXPECT_FALSE(fs::exists(dir.path() / "a.csv.tmp"));
}

TEST(LatencyCsv, HeaderAndOneRowPerModelPhase) {
  const auto rows = lines(latency_csv(compute_metrics(small_run()).latency));
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0],
            "model,mode,load,requests,failed,duration_s,req_per_s,out_tok_per_s,ttft_p50_ms,"
            "ttft_p90_ms,ttft_p99_ms,tpot_p50_ms,tpot_p99_ms,itl_p50_ms,itl_p99_ms,e2e_p50_ms,"
            "e2e_p99_ms,goodput_req_per_s,send_lag_p50_ms,send_lag_p99_ms,slo_attainment,valid,"
            "phase,note,endpoint");
  // One timed request: 2 tokens, TTFT 100, E2E 200, TPOT 100, ITL 100, window 0.2 s.
  EXPECT_EQ(rows[1],
            "m,safety,,3,0,0.2000,15.0000,10.0000,100.0000,100.0000,100.0000,100.0000,100.0000,"
            "100.0000,100.0000,200.0000,200.0000,,,,,true,safety,,");
}

TEST(LatencyCsv, LoadPointsLeaveOutWarmupAndReportGoodput) {
  RunData data = small_run();
  LoadPointRow point;
  point.phase = "load/sweep/m/concurrency=2";
  point.load = "sweep";
  point.model = "m";
  point.mode = "concurrency";
  point.level = 2;
  point.status = "complete";
  point.slo_ttft_ms = 150;  // the first request meets it, the second does not
  data.load_points.push_back(point);
  auto timed = [&](std::int64_t sent, std::int64_t ttft, bool warmup) {
    ResponseRow r;
    r.model = "m";
    r.suite = "s";
    r.item_id = "x" + std::to_string(sent);
    r.phase = point.phase;
    r.warmup = warmup;
    r.sent_ns = sent;
    r.intended_send_ns = sent;
    r.token_event_ns = {sent + ttft, sent + ttft + 10'000'000};
    r.finished_ns = sent + ttft + 10'000'000;
    r.completion_tokens = 2;
    data.responses.push_back(r);
  };
  timed(1'000'000'000, 900'000'000, true);  // warm-up: slow, must not count
  timed(2'000'000'000, 100'000'000, false);
  timed(2'100'000'000, 300'000'000, false);
  const auto rows = lines(latency_csv(compute_metrics(data).latency));
  ASSERT_EQ(rows.size(), 3U);
  // 2 measured requests over [2.0 s, 2.41 s]; 1 meets the SLO: goodput 1 / 0.41 s.
  EXPECT_EQ(rows[2],
            "m,concurrency,2.0000,2,0,0.4100,4.8780,9.7561,200.0000,280.0000,298.0000,10.0000,"
            "10.0000,10.0000,10.0000,210.0000,308.0000,2.4390,0.0000,0.0000,0.5000,true,"
            "load/sweep/m/concurrency=2,,");
}

TEST(AtomicWrite, ReplacesAndReportsFailures) {
  TempDir dir;
  const fs::path file = dir.path() / "x.txt";
  write_file_atomically(file, "old");
  write_file_atomically(file, "new");
  EXPECT_EQ(read_file(file), "new");
  EXPECT_THROW(write_file_atomically(dir.path() / "missing" / "x.txt", "data"), Error);
}

}  // namespace
}  // namespace medsafe
