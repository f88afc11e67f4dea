#pragma once
/// Percentile-bootstrap intervals that are bit-identical on every platform for the same seed and
/// data, on the run's portable PRNG and percentiles (engine/run/sampling.hpp).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>

#include "engine/run/sampling.hpp"

namespace medsafe {

/// A closed interval [low, high].
struct Interval {
  double low = 0.0;
  double high = 0.0;
  friend bool operator==(const Interval&, const Interval&) = default;
};

/// Resamples per interval unless a caller asks for another number.
inline constexpr int kBootstrapResamples = 2000;
/// Two-sided coverage of every interval: the 2.5th and 97.5th percentiles of the resamples.
inline constexpr double kConfidence = 0.95;

/// The arithmetic mean, summed in ascending order so the result depends only on the multiset of
/// values. Empty when there are none.
[[nodiscard]] std::optional<double> mean_of(std::span<const double> values);

/// Percentile-bootstrap 95% interval of the mean: `resamples` resamples of n values drawn with
/// replacement, the 2.5th and 97.5th percentiles of their means. Empty for n = 0; [x, x] for
/// n = 1. The values are sorted first, so the result depends only on their multiset and `seed`.
[[nodiscard]] std::optional<Interval> bootstrap_mean(std::span<const double> values,
                                                     std::uint64_t seed,
                                                     int resamples = kBootstrapResamples);

/// mean_of and bootstrap_mean of the values 1, 2, ..., counts.size() held counts[0], counts[1],
/// ... times (a judge's 1–5 score histogram), bit for bit, without a vector of every value: the
/// same draws from the same sorted values, summed in the same order.
[[nodiscard]] std::optional<double> mean_of_counts(std::span<const std::int64_t> counts);
[[nodiscard]] std::optional<Interval> bootstrap_mean_of_counts(std::span<const std::int64_t> counts,
                                                               std::uint64_t seed,
                                                               int resamples = kBootstrapResamples);

/// Percentile-bootstrap 95% interval of a proportion `successes` / `n`: exactly
/// bootstrap_mean of n values of which `successes` are 1 and the rest 0. Always inside [0, 1];
/// empty for n = 0; [p, p] for n = 1.
[[nodiscard]] std::optional<Interval> bootstrap_proportion(std::int64_t successes, std::int64_t n,
                                                           std::uint64_t seed,
                                                           int resamples = kBootstrapResamples);

}  // namespace medsafe
