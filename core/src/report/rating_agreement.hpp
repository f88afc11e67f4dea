#pragma once
/// Agreement of ordered ratings (1-5 harm scores and the like): a square table of two raters,
/// Cohen's kappa, quadratic-weighted kappa and Krippendorff's alpha. Pure functions; a figure
/// whose formula divides by zero is NaN.
#include <cstdint>
#include <span>
#include <vector>

namespace medsafe {

/// Two raters' ratings of the same units on one ordered scale of consecutive integers
/// `lowest` .. `highest`: cell (a, b) counts the units rater A rated a and rater B rated b.
class RatingTable {
 public:
  /// An empty table for the scale lowest..highest (highest >= lowest).
  RatingTable(int lowest, int highest);

  /// Counts one unit; ratings outside the scale are ignored (returns false).
  bool add(int a, int b) noexcept;
  /// Units rated a by A and b by B (0 outside the scale).
  [[nodiscard]] std::int64_t at(int a, int b) const noexcept;
  [[nodiscard]] int lowest() const noexcept { return lowest_; }
  [[nodiscard]] int highest() const noexcept { return lowest_ + size_ - 1; }
  /// Categories of the scale.
  [[nodiscard]] int size() const noexcept { return size_; }
  /// Units counted.
  [[nodiscard]] std::int64_t n() const noexcept { return n_; }

 private:
  int lowest_;
  int size_;
  std::int64_t n_ = 0;
  std::vector<std::int64_t> cells_;  ///< row-major, size_ x size_
};

/// The share of units both raters put in the same category.
[[nodiscard]] double exact_agreement(const RatingTable& table) noexcept;

/// Cohen's kappa (unweighted): (po - pe) / (1 - pe), pe from both raters' marginals.
[[nodiscard]] double cohen_kappa(const RatingTable& table) noexcept;

/// Cohen's weighted kappa with quadratic disagreement weights (a - b)^2: 1 - sum w o / sum w e,
/// e from both raters' marginals. Equals Lin's concordance correlation of the paired ratings.
[[nodiscard]] double quadratic_weighted_kappa(const RatingTable& table) noexcept;

/// Which difference between two values Krippendorff's alpha counts as disagreement.
enum class AlphaMetric : std::uint8_t {
  nominal,   ///< any two different values disagree equally
  ordinal,   ///< by the ranks in between, weighted by how often the values occur
  interval,  ///< (a - b)^2
};

/// Krippendorff's alpha, 1 - D_o / D_e from the coincidence matrix, over units rated by any
/// number of raters: each unit lists the values it received (missing ratings left out); units
/// with fewer than two values are not pairable and are ignored (Krippendorff 2011, "Computing
/// Krippendorff's Alpha-Reliability").
[[nodiscard]] double krippendorff_alpha(std::span<const std::vector<int>> units,
                                        AlphaMetric metric);

/// The same for two raters without missing ratings: every cell of `table` is a unit.
[[nodiscard]] double krippendorff_alpha(const RatingTable& table, AlphaMetric metric);

}  // namespace medsafe
