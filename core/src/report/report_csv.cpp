#include "report/report_csv.hpp"

#include <array>
#include <string_view>

#include "report/csv_writer.hpp"
#include "report/report_io.hpp"

namespace medsafe {
namespace {

constexpr int kDecimals = 4;

constexpr std::array<std::string_view, 23> kSummaryColumns = {"model",
                                                              "suite",
                                                              "category",
                                                              "category_name",
                                                              "n",
                                                              "errors",
                                                              "scored",
                                                              "harm_mean",
                                                              "harm_ci_low",
                                                              "harm_ci_high",
                                                              "harmful_rate",
                                                              "harmful_rate_ci_low",
                                                              "harmful_rate_ci_high",
                                                              "share_5",
                                                              "share_5_ci_low",
                                                              "share_5_ci_high",
                                                              "refusal_rate",
                                                              "refusal_rate_ci_low",
                                                              "refusal_rate_ci_high",
                                                              "judge_failures",
                                                              "corrected_harmful_rate",
                                                              "corrected_low",
                                                              "corrected_high"};

constexpr std::array<std::string_view, 25> kLatencyColumns = {"model",
                                                              "mode",
                                                              "load",
                                                              "requests",
                                                              "failed",
                                                              "duration_s",
                                                              "req_per_s",
                                                              "out_tok_per_s",
                                                              "ttft_p50_ms",
                                                              "ttft_p90_ms",
                                                              "ttft_p99_ms",
                                                              "tpot_p50_ms",
                                                              "tpot_p99_ms",
                                                              "itl_p50_ms",
                                                              "itl_p99_ms",
                                                              "e2e_p50_ms",
                                                              "e2e_p99_ms",
                                                              "goodput_req_per_s",
                                                              "send_lag_p50_ms",
                                                              "send_lag_p99_ms",
                                                              "slo_attainment",
                                                              "valid",
                                                              "phase",
                                                              "note",
                                                              "endpoint"};

template <std::size_t N>
void header(CsvWriter& csv, const std::array<std::string_view, N>& columns) {
  for (const auto column : columns) csv.text(column);
  csv.end_row();
}

std::optional<double> low(const Estimate& e) {
  return e.ci ? std::optional<double>(e.ci->low) : std::nullopt;
}
std::optional<double> high(const Estimate& e) {
  return e.ci ? std::optional<double>(e.ci->high) : std::nullopt;
}

// The value and its interval: three columns.
void estimate(CsvWriter& csv, const Estimate& e) {
  csv.number(e.value).number(low(e)).number(high(e));
}

}  // namespace

std::string summary_csv(const SafetyTable& safety) {
  CsvWriter csv(kDecimals);
  header(csv, kSummaryColumns);
  for (const SafetyCell& row : safety.rows) {
    csv.text(row.model).text(row.suite).text(row.category).text(row.category_name);
    csv.integer(row.n).integer(row.errors).integer(row.scored);
    estimate(csv, row.harm_mean);
    estimate(csv, row.harmful_rate);
    estimate(csv, row.share_5);
    estimate(csv, row.refusal_rate);
    csv.integer(row.judge_failures);
    estimate(csv, row.corrected_harmful_rate);
    csv.end_row();
  }
  return csv.str();
}

std::string latency_csv(const std::vector<LatencyStats>& latency) {
  CsvWriter csv(kDecimals);
  header(csv, kLatencyColumns);
  for (const LatencyStats& row : latency) {
    csv.text(row.model).text(row.mode).number(row.load);
    csv.integer(row.requests).integer(row.failed);
    csv.number(row.duration_s).number(row.req_per_s).number(row.out_tok_per_s);
    csv.number(row.ttft_ms.p50).number(row.ttft_ms.p90).number(row.ttft_ms.p99);
    csv.number(row.tpot_ms.p50).number(row.tpot_ms.p99);
    csv.number(row.itl_ms.p50).number(row.itl_ms.p99);
    csv.number(row.e2e_ms.p50).number(row.e2e_ms.p99);
    csv.number(row.goodput_req_per_s).number(row.send_lag_ms.p50).number(row.send_lag_ms.p99);
    csv.number(row.slo_attainment);
    csv.text(row.valid ? "true" : "false").text(row.phase).text(row.note).text(row.endpoint);
    csv.end_row();
  }
  return csv.str();
}

void write_summary_csv(const RunMetrics& metrics, const std::filesystem::path& path) {
  write_file_atomically(path, summary_csv(metrics.safety));
}

void write_latency_csv(const RunMetrics& metrics, const std::filesystem::path& path) {
  // The rows per replica (mode "endpoint") follow the model rows.
  std::vector<LatencyStats> rows = metrics.latency;
  rows.insert(rows.end(), metrics.endpoints.begin(), metrics.endpoints.end());
  write_file_atomically(path, latency_csv(rows));
}

}  // namespace medsafe
