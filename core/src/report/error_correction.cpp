#include "report/error_correction.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace medsafe {
namespace {

// A uniform double in [0, 1) from the top 53 bits: exact, the same everywhere.
double uniform(Xoshiro256& rng) noexcept {
  constexpr double kScale = 1.0 / 9007199254740992.0;  // 2^-53
  return static_cast<double>(rng.next() >> 11) * kScale;
}

}  // namespace

std::optional<double> rogan_gladen(double p, double se, double sp) noexcept {
  const double youden = se + sp - 1.0;
  if (std::isnan(p) || std::isnan(youden) || !(youden > 0.0)) return std::nullopt;
  return std::clamp((p + sp - 1.0) / youden, 0.0, 1.0);
}

double beta_draw(Xoshiro256& rng, std::int64_t a, std::int64_t b) {
  a = std::max<std::int64_t>(a, 1);
  b = std::max<std::int64_t>(b, 1);
  std::vector<double> draws(static_cast<std::size_t>(a + b - 1));
  for (double& d : draws) d = uniform(rng);
  const auto kth = draws.begin() + (a - 1);
  std::nth_element(draws.begin(), kth, draws.end());
  return *kth;
}

ErrorDraws draw_judge_error(const CalibrationCounts& counts, std::uint64_t seed, int resamples) {
  ErrorDraws out;
  const auto r = static_cast<std::size_t>(std::max(resamples, 1));
  out.sensitivity.reserve(r);
  out.specificity.reserve(r);
  Xoshiro256 rng(seed);
  for (std::size_t i = 0; i < r; ++i) {
    out.sensitivity.push_back(beta_draw(rng, counts.tp + 1, counts.fn + 1));
    out.specificity.push_back(beta_draw(rng, counts.tn + 1, counts.fp + 1));
  }
  return out;
}

JudgeError judge_error_of(const CalibrationCounts& counts, std::string source) {
  JudgeError e;
  e.sensitivity = static_cast<double>(counts.tp) / static_cast<double>(counts.tp + counts.fn);
  e.specificity = static_cast<double>(counts.tn) / static_cast<double>(counts.tn + counts.fp);
  e.counts = counts;
  e.source = std::move(source);
  return e;
}

JudgeError judge_error_of(const ErrorRatesRow& row) {
  JudgeError e;
  e.sensitivity = row.sensitivity;
  e.specificity = row.specificity;
  e.source = row.source.empty() ? "as its error_rates in the run file give it"
                                : "as judge-eval measured it (" + row.source + ")";
  if (row.n_positive > 0 && row.n_negative > 0) {
    const auto tp = static_cast<std::int64_t>(
        std::llround(row.sensitivity * static_cast<double>(row.n_positive)));
    const auto tn = static_cast<std::int64_t>(
        std::llround(row.specificity * static_cast<double>(row.n_negative)));
    e.counts = CalibrationCounts{tp, row.n_negative - tn, row.n_positive - tp, tn};
  }
  return e;
}

ErrorDraws draw_judge_error(const JudgeError& error, std::uint64_t seed, int resamples) {
  if (error.counts) return draw_judge_error(*error.counts, seed, resamples);
  const auto r = static_cast<std::size_t>(std::max(resamples, 1));
  return {std::vector<double>(r, error.sensitivity), std::vector<double>(r, error.specificity)};
}

CorrectedRate corrected_rate(std::int64_t successes, std::int64_t n,
                             const CalibrationCounts& counts, const ErrorDraws& draws,
                             std::uint64_t seed) {
  if (n <= 0 || counts.tp + counts.fn == 0 || counts.tn + counts.fp == 0) return {};
  return corrected_rate(successes, n, judge_error_of(counts, ""), draws, seed);
}

CorrectedRate corrected_rate(std::int64_t successes, std::int64_t n, const JudgeError& error,
                             const ErrorDraws& draws, std::uint64_t seed) {
  CorrectedRate out;
  if (n <= 0) return out;
  successes = std::clamp<std::int64_t>(successes, 0, n);
  out.value = rogan_gladen(static_cast<double>(successes) / static_cast<double>(n),
                           error.sensitivity, error.specificity);
  if (!out.value) return out;
  // The same resampling of the verdicts as bootstrap_proportion, each replicate corrected with
  // its own draw of the judge's error.
  const auto count = static_cast<std::uint64_t>(n);
  const auto zeros = static_cast<std::uint64_t>(n - successes);
  Xoshiro256 rng(seed);
  std::vector<double> rates;
  const std::size_t replicates = std::min(draws.sensitivity.size(), draws.specificity.size());
  rates.reserve(replicates);
  for (std::size_t r = 0; r < replicates; ++r) {
    std::uint64_t hits = 0;
    for (std::uint64_t i = 0; i < count; ++i) hits += rng.below(count) >= zeros ? 1U : 0U;
    const double p = static_cast<double>(hits) / static_cast<double>(n);
    if (const std::optional<double> c = rogan_gladen(p, draws.sensitivity[r], draws.specificity[r]))
      rates.push_back(*c);
  }
  if (rates.empty()) return out;
  std::sort(rates.begin(), rates.end());
  const double tail = (1.0 - kConfidence) / 2.0;
  out.ci = Interval{percentile_sorted(rates, tail), percentile_sorted(rates, 1.0 - tail)};
  return out;
}

}  // namespace medsafe
