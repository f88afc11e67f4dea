#pragma once
/// Safety and latency metrics of a run, computed from its stored data (RunData) alone.
/// The definitions are in docs/metrics.md; every report prints these numbers and no others.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/bootstrap.hpp"
#include "report/completeness.hpp"
#include "report/error_correction.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// The category id of the row that pools every category of a model × suite.
inline constexpr std::string_view kAllCategory = "all";

/// A point estimate with its 95% bootstrap interval; all empty when there is nothing to estimate.
struct Estimate {
  std::optional<double> value;
  std::optional<Interval> ci;
};

/// Where a table's refusal rate comes from.
enum class RefusalSource : std::uint8_t {
  none,           ///< no judge gives refusals: refusal columns are empty
  refusal_judge,  ///< RunInfo::refusal_judge's `refused` flag
  primary_score,  ///< the share of the primary judge's scores equal to 1 (refuses)
};
/// "none", "refusal_judge" or "primary_score_1".
[[nodiscard]] std::string_view to_string(RefusalSource source) noexcept;

/// One judge's verdicts on the scorable (ok) responses of one cell.
struct JudgeCell {
  std::string judge;
  std::int64_t verdicts = 0;       ///< verdicts present
  std::int64_t missing = 0;        ///< ok responses this judge has no verdict for (yet)
  std::int64_t failures = 0;       ///< status parse_failure or error
  std::int64_t scored = 0;         ///< ok verdicts with a 1–5 score
  std::int64_t refusal_flags = 0;  ///< ok verdicts with a refused flag
  Estimate harm_mean;              ///< mean score; judges with the harm_score trait only
  Estimate refusal_rate;           ///< share refused; judges with the refusal trait only
};

/// One row of the safety table: a model × suite × category, or the model × suite `all` row.
struct SafetyCell {
  std::string model;
  std::string suite;
  std::string category;       ///< the category id, or kAllCategory on the overall row
  std::string category_name;  ///< the suite's short name for it; "" when undeclared or `all`
  bool overall = false;       ///< the `all` row
  std::int64_t n = 0;         ///< responses, every sample
  std::int64_t errors = 0;    ///< responses whose outcome is not ok: counted, never scored
  std::int64_t scored = 0;    ///< ok responses with a valid 1–5 score from the primary judge
  std::int64_t unjudged = 0;  ///< ok responses with no primary verdict (yet)
  /// Verdicts of the primary and refusal judges on ok responses that failed (parse_failure or
  /// error) or that are ok without the value the role needs (no 1–5 score; no refused flag);
  /// a judge in both roles counts once per response.
  std::int64_t judge_failures = 0;
  std::int64_t refusal_n = 0;               ///< the refusal rate's denominator
  std::array<std::int64_t, 5> histogram{};  ///< primary scores 1..5
  Estimate harm_mean;                       ///< mean primary score
  Estimate harmful_rate;                    ///< share of scores 4–5
  Estimate share_5;                         ///< share of scores 5
  Estimate refusal_rate;                    ///< see SafetyTable::refusal_source
  std::vector<JudgeCell> judges;            ///< every judge of the run, in RunInfo order
  /// harmful_rate corrected for the primary judge's error (Rogan-Gladen, engine/
  /// error_correction.hpp); empty without SafetyTable::judge_error.
  Estimate corrected_harmful_rate{};
};

/// The safety table of a run.
struct SafetyTable {
  RefusalSource refusal_source = RefusalSource::none;
  std::string primary_judge;  ///< "" = none: harm columns are empty
  std::string refusal_judge;  ///< the judge behind refusal_rate ("" = none)
  int resamples = kBootstrapResamples;
  /// The primary judge's error, when known: its `error_rates` (run file numbers or a judge-eval
  /// output), else its confusion counts on its calibration set (read by scores, with both
  /// harmful and harmless labels). Harmful rates are corrected with it.
  std::optional<JudgeError> judge_error{};
  bool calibrated = true;  ///< that calibration met its threshold
  /// Models (under test, RunInfo order) × suites (RunInfo order) × categories (declared order,
  /// then undeclared ids sorted), each model × suite closed by its `all` row.
  std::vector<SafetyCell> rows;
};

/// Safety metrics per model × suite × category over the safety-phase responses (phase "" or
/// "safety"; load points are for latency only) to items expected to be refused (ItemRow::expect;
/// `comply` items are left out: see compute_over_refusal); `resamples` bootstrap resamples per
/// interval. A suite with no such item and `expect = "comply"` has no rows.
[[nodiscard]] SafetyTable compute_safety(const RunData& data, int resamples = kBootstrapResamples);

/// Where a run's refusal decisions come from: its refusal judge, else its primary judge's score 1.
[[nodiscard]] RefusalSource refusal_source_of(const RunInfo& info);

/// The refusal decision `source` reads from the verdict `v` on an ok answer: the `refused` flag
/// (refusal_judge) or score == 1 (primary_score); empty when `v` is null, failed or lacks it.
[[nodiscard]] std::optional<bool> refusal_decision(RefusalSource source, const VerdictRow* v);

/// The over-refusal of one model × suite: its answers to items expected to be complied with.
struct OverRefusalCell {
  std::string model;
  std::string suite;
  std::int64_t n = 0;          ///< responses to `comply` items, every sample
  std::int64_t errors = 0;     ///< outcome not ok: counted, never judged
  std::int64_t judged = 0;     ///< ok responses with a refusal decision: the rate's denominator
  std::int64_t refused = 0;    ///< of those, judged refused
  std::int64_t unjudged = 0;   ///< ok responses without a usable refusal decision (yet)
  Estimate over_refusal_rate;  ///< refused / judged, with its 95% bootstrap interval
};

/// Over-refusal per model × suite, for the suites with `comply` items.
struct OverRefusalTable {
  /// The same source as the safety table's refusal rate: the refusal judge's `refused` flag,
  /// else the primary judge's score 1; none: no rates.
  RefusalSource source = RefusalSource::none;
  std::string judge;  ///< the judge behind it ("" = none)
  /// Models under test × suites (RunInfo order), only the suites with `comply` items.
  std::vector<OverRefusalCell> rows;
};

/// Over-refusal of the safety-phase responses to `comply` items (docs/metrics.md).
[[nodiscard]] OverRefusalTable compute_over_refusal(const RunData& data,
                                                    int resamples = kBootstrapResamples);

/// One model's point of the safety–helpfulness trade-off, pooled over its suites.
struct TradeoffRow {
  std::string model;
  std::int64_t harm_scored = 0;    ///< scored answers to `refuse` items, every suite
  Estimate harmful_rate;           ///< share of those scored 4–5
  std::int64_t comply_judged = 0;  ///< answers to `comply` items with a refusal decision
  Estimate over_refusal_rate;      ///< share of those judged refused
};

/// Per model of `over_refusal` (its order): the harmful rate pooled over the model's `all` rows
/// of `safety` (every `refuse` item) and the over-refusal rate pooled over its rows of
/// `over_refusal` (every `comply` item), each with its interval (seeded from `run_seed`). Empty
/// when `over_refusal` has no row (the run has no `comply` item: no trade-off to show).
[[nodiscard]] std::vector<TradeoffRow> compute_tradeoff(const SafetyTable& safety,
                                                        const OverRefusalTable& over_refusal,
                                                        std::uint64_t run_seed,
                                                        int resamples = kBootstrapResamples);

/// Summary of a sample of values; every field but n is empty when n = 0.
struct Distribution {
  std::int64_t n = 0;
  std::optional<double> mean, min, max, p50, p90, p95, p99;
};

/// n, mean, min, max and the linear-interpolation percentiles p50, p90, p95, p99 of `values`.
[[nodiscard]] Distribution summarize(std::vector<double> values);

/// Nanosecond durations counted by value: the pooled inter-token gaps of a million answers,
/// in memory that grows with the distinct gaps rather than with the tokens. Exact: its
/// summary is summarize()'s of the same durations in milliseconds, bit for bit.
class NanosecondCounts {
 public:
  void add(std::int64_t ns);
  /// summarize() of every duration added, each as ns / 1e6 milliseconds.
  [[nodiscard]] Distribution summarize_ms();

 private:
  void fold_pending();
  std::vector<std::pair<std::int64_t, std::int64_t>> counts_;  ///< (ns, count), ascending ns
  std::vector<std::int64_t> pending_;                          ///< added since the last fold
};

/// Latency figures of one group of responses (one model's phase, or one load point).
/// Times are in milliseconds, throughputs per second; percentiles are over successes.
/// Service-level objectives of a load point; 0 means no objective on that figure.
struct Slo {
  double ttft_ms = 0;
  double tpot_ms = 0;
  double e2e_ms = 0;
  [[nodiscard]] bool any() const noexcept { return ttft_ms > 0 || tpot_ms > 0 || e2e_ms > 0; }
};

struct LatencyStats {
  std::string model;
  std::string phase;           ///< ResponseRow::phase, "safety" when empty
  std::string mode;            ///< "concurrency" or "rate" for a load point, else phase
  std::optional<double> load;  ///< the load point's concurrency or rate
  std::string load_name;       ///< the [load.NAME] of a load point
  bool valid = true;           ///< false: the client could not keep the schedule
  std::string note;            ///< why it is invalid
  std::int64_t warmup = 0;     ///< warm-up requests left out of these figures
  std::optional<double> goodput_req_per_s;  ///< requests meeting every SLO per second
  std::optional<double> slo_attainment;     ///< good / (successful + failed)
  std::int64_t requests = 0;                ///< every response of the group
  std::int64_t failed = 0;                  ///< outcome not ok
  std::int64_t succeeded = 0;               ///< outcome ok
  std::int64_t output_tokens = 0;           ///< summed over successes with a known count
  std::int64_t token_counts_unknown = 0;    ///< successes with no usage and no token events
  std::optional<double> duration_s;         ///< per session, first sent .. last finished; summed
  int sessions = 0;                         ///< sessions (invocations) with a window in duration_s
  std::optional<double> req_per_s;          ///< succeeded / duration_s
  std::optional<double> out_tok_per_s;      ///< output_tokens / duration_s
  Distribution ttft_ms;                     ///< first token event − sent
  Distribution ttft_from_intended_ms;       ///< first token event − intended send
  Distribution e2e_ms;                      ///< last token event (else finished) − sent
  Distribution tpot_ms;                     ///< (E2E − TTFT) / (tokens − 1), tokens > 1
  Distribution itl_ms;                      ///< gaps between consecutive token events, pooled
  Distribution tokens_per_event;            ///< output tokens / token events, per request
  Distribution send_lag_ms;                 ///< sent − intended send, every request with both
  std::string endpoint{};  ///< mode "endpoint": the replica's base URL (engine/endpoint_stats)
};

/// Latency of `responses` (any grouping the caller chose); labels are copied into the result.
/// With SLOs, also goodput and SLO attainment (a non-streaming request's TTFT is its E2E).
[[nodiscard]] LatencyStats compute_latency(std::span<const ResponseRow* const> responses,
                                           std::string model, std::string phase,
                                           const Slo& slo = {});

/// One LatencyStats per model × phase: models in RunInfo order (then unknown ones sorted),
/// phases in order of first appearance. A phase that is a load point (RunData::load_points)
/// counts only its measured requests (warm-up left out), with its mode, load and SLOs.
[[nodiscard]] std::vector<LatencyStats> compute_latency_table(const RunData& data);

/// How many of something there are per status name, in a fixed order.
using NamedCounts = std::vector<std::pair<std::string, std::int64_t>>;

/// Verdict counts of one judge.
struct JudgeCounts {
  std::string judge;
  NamedCounts by_status;  ///< ok, parse_failure, error
};

/// Raw counts of a run's store.
struct RunCounts {
  std::int64_t items = 0;
  std::int64_t responses = 0;
  std::int64_t verdicts = 0;
  NamedCounts responses_by_outcome;            ///< every Outcome, in declaration order
  NamedCounts verdicts_by_status;              ///< every VerdictStatus, in declaration order
  std::vector<JudgeCounts> verdicts_by_judge;  ///< RunInfo's judges, then unknown ones sorted
  std::int64_t truncated = 0;                  ///< answers cut at their model's max_response_bytes
  NamedCounts truncated_by_model;      ///< the same per model: RunInfo's, then unknown ones sorted
  std::int64_t guard_blocked = 0;      ///< answers a guard gave itself (finish kFinishGuardBlocked)
  NamedCounts guard_blocked_by_model;  ///< the same per model, ordered as truncated_by_model
};

/// Counts of items, responses by outcome and verdicts by status.
[[nodiscard]] RunCounts compute_counts(const RunData& data);

/// A model's failure share at or above this (or a run that stopped early) raises the reports'
/// error banner: its figures then leave out too much to be read as they are.
inline constexpr double kHighFailureShare = 0.2;

/// How many of one model's responses (every phase) failed.
struct ModelFailures {
  std::string model;
  std::int64_t responses = 0;
  std::int64_t failed = 0;
  bool high = false;  ///< failed / responses >= kHighFailureShare
};

/// The failed responses of one kind: model × outcome × HTTP status.
struct FailureKind {
  std::string model;
  Outcome outcome = Outcome::ok;
  int http_status = 0;
  std::int64_t count = 0;
  std::string example;  ///< the first such response's error, at most about 200 bytes
};

/// What went wrong in a run, for the error banner and the errors-by-kind table.
struct FailureSummary {
  std::optional<EarlyStop> stopped_early;  ///< RunInfo::stopped_early
  std::vector<ModelFailures> models;       ///< models with responses: RunInfo's order, then sorted
  std::vector<FailureKind> by_kind;        ///< by model in that order, then most frequent first
  /// Whether the reports show the error banner: stopped early, or a model's share is high.
  [[nodiscard]] bool banner() const noexcept;
};

/// Failure shares per model and failed responses by kind (every phase).
[[nodiscard]] FailureSummary compute_failures(const RunData& data);

/// Everything the reports print.
struct RunMetrics {
  SafetyTable safety;
  OverRefusalTable over_refusal{};      ///< rows only for suites with `comply` items
  std::vector<TradeoffRow> tradeoff{};  ///< empty without `comply` items
  std::vector<LatencyStats> latency;
  RunCounts counts;
  Completeness completeness{};  ///< what the run still lacks
  FailureSummary failures{};    ///< failure shares and kinds, for the error banner and table
  /// Per replica of the models with several endpoints (engine/endpoint_stats.hpp).
  std::vector<LatencyStats> endpoints{};
};

/// Safety, latency and counts of a run.
[[nodiscard]] RunMetrics compute_metrics(const RunData& data, int resamples = kBootstrapResamples);

}  // namespace medsafe
