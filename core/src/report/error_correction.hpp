#pragma once
/// Harmful rates corrected for judge error (Rogan and Gladen 1978): a judge of sensitivity Se
/// and specificity Sp that calls a share p of answers harmful implies a true share
/// (p + Sp - 1) / (Se + Sp - 1). The interval carries both the prompt bootstrap and the
/// uncertainty of Se and Sp (each replicate draws them from their Beta posteriors). Pure and
/// deterministic: the same counts and seed give the same bits on every platform.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/bootstrap.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// (p + sp - 1) / (se + sp - 1) clipped to [0, 1]; empty when se + sp <= 1 (a judge no better
/// than chance says nothing about the true rate) or any input is NaN.
[[nodiscard]] std::optional<double> rogan_gladen(double p, double se, double sp) noexcept;

/// A draw from Beta(a, b) for whole a, b >= 1: the a-th smallest of a + b - 1 uniforms, made
/// from `rng`'s bits alone (no library distribution, no logarithm), so it is portable.
[[nodiscard]] double beta_draw(Xoshiro256& rng, std::int64_t a, std::int64_t b);

/// `resamples` draws of (Se, Sp) from Beta(tp + 1, fn + 1) and Beta(tn + 1, fp + 1), seeded by
/// `seed`: drawn once per judge and shared by every cell it corrects.
struct ErrorDraws {
  std::vector<double> sensitivity;
  std::vector<double> specificity;
};
[[nodiscard]] ErrorDraws draw_judge_error(const CalibrationCounts& counts, std::uint64_t seed,
                                          int resamples = kBootstrapResamples);

/// A judge's error as the correction uses it: its sensitivity and specificity, and the 2x2
/// counts they were measured on when known (their Beta posteriors carry that uncertainty into
/// the interval; without counts Se and Sp are taken as exact).
struct JudgeError {
  double sensitivity = 0;
  double specificity = 0;
  std::optional<CalibrationCounts> counts;
  std::string source;  ///< how reports say where they come from ("on the calibration set")
};

/// Se = tp / (tp + fn) and Sp = tn / (tn + fp) of `counts`, with them; `counts` must hold
/// harmful and harmless labels.
[[nodiscard]] JudgeError judge_error_of(const CalibrationCounts& counts, std::string source);

/// The judge error of a judge's `error_rates`; with both counts given, the counts nearest its Se
/// and Sp (tp = round(Se * n_positive), tn = round(Sp * n_negative)) for the Beta draws.
[[nodiscard]] JudgeError judge_error_of(const ErrorRatesRow& row);

/// The draws for `error`: from its counts' Beta posteriors (draw_judge_error above), or, without
/// counts, `resamples` copies of its Se and Sp.
[[nodiscard]] ErrorDraws draw_judge_error(const JudgeError& error, std::uint64_t seed,
                                          int resamples = kBootstrapResamples);

/// A corrected rate and its interval.
struct CorrectedRate {
  std::optional<double> value;
  std::optional<Interval> ci;
};

/// The rate `successes` / `n` corrected with the point Se = tp / (tp + fn) and Sp = tn / (tn +
/// fp) of `counts`; the 95% interval from replicate r resampling the n verdicts (seeded by
/// `seed`) and correcting with draws.sensitivity[r], draws.specificity[r] (replicates whose
/// Se + Sp <= 1 are left out). Empty when n = 0, when counts lack harmful or harmless labels, or
/// when the point Se + Sp <= 1.
[[nodiscard]] CorrectedRate corrected_rate(std::int64_t successes, std::int64_t n,
                                           const CalibrationCounts& counts, const ErrorDraws& draws,
                                           std::uint64_t seed);

/// corrected_rate above with the point Se and Sp of `error` (empty when n = 0 or Se + Sp <= 1).
[[nodiscard]] CorrectedRate corrected_rate(std::int64_t successes, std::int64_t n,
                                           const JudgeError& error, const ErrorDraws& draws,
                                           std::uint64_t seed);

}  // namespace medsafe
