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

// The number of values `counts` holds.
std::uint64_t total_of(std::span<const std::int64_t> counts) {
  std::uint64_t n = 0;
  for (const std::int64_t c : counts) n += static_cast<std::uint64_t>(std::max<std::int64_t>(c, 0));
  return n;
}

// The value at `index` of the ascending values that `counts` holds: 1 + the bucket it falls in.
double value_at(std::span<const std::int64_t> counts, std::uint64_t index) {
  std::size_t bucket = 0;
  for (; bucket + 1 < counts.size(); ++bucket) {
    const auto c = static_cast<std::uint64_t>(std::max<std::int64_t>(counts[bucket], 0));
    if (index < c) break;
    index -= c;
  }
  return static_cast<double>(bucket + 1);
}

}  // namespace

std::optional<double> mean_of_counts(std::span<const std::int64_t> counts) {
  const std::uint64_t n = total_of(counts);
  if (n == 0) return std::nullopt;
  double sum = 0.0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    for (std::int64_t i = 0; i < counts[k]; ++i) sum += static_cast<double>(k + 1);
  }
  return sum / static_cast<double>(n);
}

std::optional<Interval> bootstrap_mean_of_counts(std::span<const std::int64_t> counts,
                                                 std::uint64_t seed, int resamples) {
  const std::uint64_t n = total_of(counts);
  if (n == 0) return std::nullopt;
  if (n == 1) {
    const double only = value_at(counts, 0);
    return Interval{only, only};
  }
  Xoshiro256 rng(seed);
  std::vector<double> means(static_cast<std::size_t>(std::max(resamples, 1)));
  for (double& mean : means) {
    double sum = 0.0;
    for (std::uint64_t i = 0; i < n; ++i) sum += value_at(counts, rng.below(n));
    mean = sum / static_cast<double>(n);
  }
  return percentile_interval(means);
}

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
