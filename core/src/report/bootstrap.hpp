#pragma once
/// Seeded, portable resampling: a PRNG whose stream is fixed by its seed alone, seed derivation
/// by a stable hash, percentiles, and percentile-bootstrap intervals that are bit-identical on
/// every platform for the same seed and data.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>

namespace medsafe {

/// One step of splitmix64 (Steele, Lea, Flood): advances `state` and returns a well-mixed word.
[[nodiscard]] std::uint64_t splitmix64(std::uint64_t& state) noexcept;

/// xoshiro256** (Blackman, Vigna) seeded through splitmix64. Our own code, not <random>'s
/// distributions, so the same seed gives the same numbers with every compiler and library.
class Xoshiro256 {
 public:
  /// A generator whose whole stream is determined by `seed`.
  explicit Xoshiro256(std::uint64_t seed) noexcept;
  /// A generator starting from this exact state (not all zero), to check published vectors.
  [[nodiscard]] static Xoshiro256 from_state(const std::array<std::uint64_t, 4>& state) noexcept;
  /// The next 64 random bits.
  [[nodiscard]] std::uint64_t next() noexcept;
  /// A uniform integer in [0, bound), without modulo bias; `bound` must be > 0.
  [[nodiscard]] std::uint64_t below(std::uint64_t bound) noexcept;

 private:
  std::array<std::uint64_t, 4> s_{};
};

/// The seed of one interval, from the run's seed and the interval's key (model, suite,
/// category, metric). Each key part is hashed with its length, so ("ab","c") != ("a","bc"); a
/// cell's seed depends on nothing else, so adding a model leaves other models' intervals alone.
[[nodiscard]] std::uint64_t cell_seed(std::uint64_t run_seed,
                                      std::initializer_list<std::string_view> key) noexcept;

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

/// The q-quantile (q in [0, 1]) of ascending `sorted` values by linear interpolation between
/// the closest ranks (numpy's default "linear" method: index (n-1)q). Requires n > 0.
/// The interpolation is one explicit fused multiply-add, so it rounds the same everywhere.
[[nodiscard]] double percentile_sorted(std::span<const double> sorted, double q) noexcept;

/// The arithmetic mean, summed in ascending order so the result depends only on the multiset of
/// values. Empty when there are none.
[[nodiscard]] std::optional<double> mean_of(std::span<const double> values);

/// Percentile-bootstrap 95% interval of the mean: `resamples` resamples of n values drawn with
/// replacement, the 2.5th and 97.5th percentiles of their means. Empty for n = 0; [x, x] for
/// n = 1. The values are sorted first, so the result depends only on their multiset and `seed`.
[[nodiscard]] std::optional<Interval> bootstrap_mean(std::span<const double> values,
                                                     std::uint64_t seed,
                                                     int resamples = kBootstrapResamples);

/// Percentile-bootstrap 95% interval of a proportion `successes` / `n`: exactly
/// bootstrap_mean of n values of which `successes` are 1 and the rest 0. Always inside [0, 1];
/// empty for n = 0; [p, p] for n = 1.
[[nodiscard]] std::optional<Interval> bootstrap_proportion(std::int64_t successes, std::int64_t n,
                                                           std::uint64_t seed,
                                                           int resamples = kBootstrapResamples);

}  // namespace medsafe
