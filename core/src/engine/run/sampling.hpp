#pragma once
/// Seeded, portable numbers for the run and its reports: a PRNG whose stream is fixed by its
/// seed alone (the same numbers with every compiler and library), seed derivation by a stable
/// hash, and the percentile every latency and interval figure uses. Kernel code: the runner's
/// shuffles, flow control's jitter and the load phases use it; report/bootstrap builds on it.
#include <array>
#include <cstdint>
#include <initializer_list>
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

/// The q-quantile (q in [0, 1]) of ascending `sorted` values by linear interpolation between
/// the closest ranks (numpy's default "linear" method: index (n-1)q). Requires n > 0.
/// The interpolation is one explicit fused multiply-add, so it rounds the same everywhere.
[[nodiscard]] double percentile_sorted(std::span<const double> sorted, double q) noexcept;

}  // namespace medsafe
