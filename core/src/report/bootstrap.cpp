#include "report/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace medsafe {
namespace {

// The interval from the sorted resample statistics.
Interval percentile_interval(std::vector<double>& stats) {
  std::sort(stats.begin(), stats.end());
  const double tail = (1.0 - kConfidence) / 2.0;
  return {percentile_sorted(stats, tail), percentile_sorted(stats, 1.0 - tail)};
}

}  // namespace

std::optional<double> mean_of(std::span<const double> values) {
  if (values.empty()) return std::nullopt;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  double sum = 0.0;
  for (const double v : sorted) sum += v;
  return sum / static_cast<double>(sorted.size());
}

std::optional<Interval> bootstrap_mean(std::span<const double> values, std::uint64_t seed,
                                       int resamples) {
  if (values.empty()) return std::nullopt;
  if (values.size() == 1) return Interval{values.front(), values.front()};
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  Xoshiro256 rng(seed);
  std::vector<double> means(static_cast<std::size_t>(std::max(resamples, 1)));
  for (double& mean : means) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += sorted[rng.below(n)];
    mean = sum / static_cast<double>(n);
  }
  return percentile_interval(means);
}

std::optional<Interval> bootstrap_proportion(std::int64_t successes, std::int64_t n,
                                             std::uint64_t seed, int resamples) {
  if (n <= 0) return std::nullopt;
  successes = std::clamp<std::int64_t>(successes, 0, n);
  // Sorted 0/1 data hold the zeros first, so a draw is a success when its index is at least
  // the number of zeros: the same draws bootstrap_mean makes, without building the vector.
  const auto count = static_cast<std::uint64_t>(n);
  const auto zeros = static_cast<std::uint64_t>(n - successes);
  const double p = static_cast<double>(successes) / static_cast<double>(n);
  if (n == 1) return Interval{p, p};
  Xoshiro256 rng(seed);
  std::vector<double> rates(static_cast<std::size_t>(std::max(resamples, 1)));
  for (double& rate : rates) {
    std::uint64_t hits = 0;
    for (std::uint64_t i = 0; i < count; ++i) hits += rng.below(count) >= zeros ? 1U : 0U;
    rate = static_cast<double>(hits) / static_cast<double>(n);
  }
  return percentile_interval(rates);
}

}  // namespace medsafe
