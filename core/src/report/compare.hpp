#pragma once
/// Comparing runs: their safety tables side by side, and, for runs over the same items, paired
/// differences of the primary judge's harm scores with a paired bootstrap interval, a paired
/// sign-flip permutation test and Holm's correction (docs/compare.md).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/metrics.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// One run to compare.
struct CompareInput {
  std::string label;  ///< how reports name it (its directory)
  RunData data;
};

/// Settings of a comparison.
struct CompareSettings {
  std::uint64_t seed = 1;               ///< seeds every interval and permutation test
  double alpha = 0.05;                  ///< family-wise error rate of each model pair
  int resamples = kBootstrapResamples;  ///< bootstrap resamples per interval
  int permutations = 10000;             ///< random sign flips per test (when not exact)
};

/// The verdict on one row of a paired comparison.
enum class Change : std::uint8_t {
  worse,      ///< significantly more harmful in the later run
  better,     ///< significantly less harmful
  no_change,  ///< no significant change
  untested,   ///< no pair scored in both runs
};
/// "worse", "better", "no significant change" or "untested".
[[nodiscard]] std::string_view to_string(Change change) noexcept;

/// The two-sided p-value of the paired sign-flip permutation test of the mean of `differences`:
/// the share of the 2^n sign assignments whose |sum| is at least the observed |sum|. Exact
/// (all assignments of the nonzero differences) when there are at most `exact_limit` of them;
/// otherwise estimated from `permutations` random assignments drawn with `seed`, as
/// (1 + hits) / (1 + permutations), which never understates p. 1 when every difference is 0.
[[nodiscard]] double sign_flip_p_value(const std::vector<std::int64_t>& differences,
                                       std::uint64_t seed, int permutations, int exact_limit = 16);

/// Holm's step-down adjustment of `p_values` (same order): adjusted p of the i-th smallest is
/// max over j ≤ i of min(1, (m − j + 1) · p_(j)). Rejecting where adjusted p ≤ alpha controls the
/// family-wise error rate at alpha under any dependence.
[[nodiscard]] std::vector<double> holm_adjust(const std::vector<double>& p_values);

/// One row of a paired comparison: a principle of a suite, or its `all` row.
struct PairedRow {
  std::string suite;
  std::string category;  ///< id, or kAllCategory
  std::string category_name;
  bool overall = false;
  std::int64_t pairs = 0;         ///< items × samples with a valid primary score in both runs
  std::int64_t unpaired = 0;      ///< answers of either run without a scored partner in the other
  std::optional<double> mean_a;   ///< mean score over the pairs, baseline run
  std::optional<double> mean_b;   ///< mean score over the pairs, later run
  Estimate difference;            ///< mean of (b − a) with its paired bootstrap 95% interval
  std::int64_t increased = 0;     ///< pairs where b scored higher (more harmful)
  std::int64_t decreased = 0;     ///< pairs where b scored lower
  std::optional<double> p_value;  ///< sign-flip test, two-sided
  std::optional<double> p_holm;   ///< Holm-adjusted over the comparison's rows
  Change change = Change::untested;
};

/// The over-refusal of one benign (`comply`) suite, paired by item and sample: each pair's
/// difference is refused_b − refused_a (−1, 0 or 1).
struct OverRefusalChangeRow {
  std::string suite;
  std::int64_t pairs = 0;            ///< slots with a refusal decision in both runs
  std::int64_t unpaired = 0;         ///< slots of either run without a decided partner in the other
  Estimate rate_a;                   ///< over-refusal rate over the pairs, baseline run, with its
                                     ///< bootstrap 95% interval
  Estimate rate_b;                   ///< the same, later run
  Estimate difference;               ///< rate_b − rate_a with its paired bootstrap 95% interval
  std::int64_t increased = 0;        ///< pairs refused in the later run only
  std::int64_t decreased = 0;        ///< pairs refused in the baseline only
  std::optional<double> p_value;     ///< sign-flip test, two-sided
  std::optional<double> p_holm;      ///< Holm-adjusted over the pair's over-refusal rows
  Change change = Change::untested;  ///< worse: significantly more benign prompts refused
};

/// A model of the baseline run against a model of a later run, over their shared items.
struct PairedComparison {
  std::size_t baseline = 0;     ///< index of the baseline run
  std::size_t run = 1;          ///< index of the later run
  std::string model_a;          ///< the baseline run's model
  std::string model_b;          ///< the later run's model
  bool renamed = false;         ///< paired although the names differ (one model under test each)
  std::vector<PairedRow> rows;  ///< per suite: its principles in order, then `all`
  /// Per suite with `comply` items in the baseline (their answers are not in `rows`).
  std::vector<OverRefusalChangeRow> over_refusal{};
};

/// One model × suite × category row across the runs.
struct SideBySideRow {
  std::string model;  ///< as the baseline names it
  std::string suite;
  std::string category;
  std::string category_name;
  bool overall = false;
  std::vector<std::optional<SafetyCell>> cells;  ///< one per run; empty where the run has none
};

/// One model's safety–helpfulness trade-off point in one run (that run's own figures, as its
/// report shows them), with its change from the baseline's point of the same model.
struct TradeoffChangeRow {
  std::string model;      ///< as the baseline names it
  std::string run_model;  ///< as this run names it
  std::size_t run = 0;    ///< index of the run (0: the baseline's own row)
  TradeoffRow point;      ///< the run's trade-off row of the model (docs/metrics.md)
  /// This run's harmful rate minus the baseline's (a difference of rates, not a paired test:
  /// the paired rows say whether it is significant); none on the baseline row or without both.
  std::optional<double> harmful_change;
  std::optional<double> over_refusal_change;  ///< the same for the over-refusal rate
};

/// Everything `medsafe compare` reports.
struct Comparison {
  std::vector<std::string> labels;  ///< one per run
  std::vector<RunInfo> runs;
  std::vector<SideBySideRow> side_by_side;
  std::vector<PairedComparison> paired;  ///< each later run against the first
  /// Per baseline model with a trade-off point (the baseline has `comply` items): its baseline
  /// row, then one row per later run whose paired model has one, in run order.
  std::vector<TradeoffChangeRow> tradeoff;
  std::vector<std::string> notes;  ///< pairings by position, items not shared, ...
  CompareSettings settings;
};

/// Compares the runs: side by side (each run's metrics with its own seed), and every later run
/// against the first, pairing models of the same name (or the only model under test of each,
/// when there is one each and the names differ). Answers pair by suite, item id and sample;
/// only safety-phase answers count.
[[nodiscard]] Comparison compare_runs(const std::vector<CompareInput>& runs,
                                      const CompareSettings& settings);

/// The --fail-if-worse gate id of the over-refusal rows.
inline constexpr std::string_view kOverRefusalGate = "over-refusal";

/// Whether a paired row got significantly worse in a principle `gate` names: all rows when
/// `gate` is empty, else rows whose category id is listed ("all" names the overall rows). An
/// over-refusal row that got significantly worse counts when `gate` is empty or lists
/// kOverRefusalGate.
[[nodiscard]] bool any_worse(const Comparison& comparison, const std::vector<std::string>& gate);

}  // namespace medsafe
