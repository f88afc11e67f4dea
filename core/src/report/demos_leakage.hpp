#pragma once
/// Leakage of evaluation prompts into training demonstrations: an exact check on normalised text
/// and a near-duplicate check by Jaccard similarity of word shingles, computed exactly through an
/// inverted index over the evaluation side (no sampling, so no pair above the threshold is
/// missed, and no false positive below it).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace medsafe {

/// `text` as it is compared: ASCII letters lower-cased, every run of characters that are not
/// letters or digits (ASCII punctuation, spaces, controls) turned into one space, trimmed. Bytes
/// of non-ASCII characters count as letters, so words of other scripts survive.
[[nodiscard]] std::string normalize_for_matching(std::string_view text);

/// The hashes of the `width`-word shingles of normalised text, sorted and without repeats. A
/// text of fewer than `width` words (but at least one) gives one shingle of all its words.
[[nodiscard]] std::vector<std::uint64_t> word_shingles(std::string_view normalized, int width);

/// |a ∩ b| / |a ∪ b| of two sorted, repeat-free sets (0 when both are empty).
[[nodiscard]] double jaccard(const std::vector<std::uint64_t>& a,
                             const std::vector<std::uint64_t>& b);

/// An evaluation prompt that training data must not contain.
struct LeakageTarget {
  std::string source;  ///< where it comes from ("suites/medsafetybench.toml: suite 'medsafety'")
  std::string suite;
  std::string item_id;
  std::string prompt;
};

/// The closest evaluation prompt to a training prompt, when it counts as a leak.
struct LeakageMatch {
  bool exact = false;      ///< the normalised texts are equal
  double similarity = 0;   ///< Jaccard of the shingle sets (1 for an exact match)
  std::size_t target = 0;  ///< index into the index's targets
};

/// The evaluation prompts, indexed for exact and near-duplicate look-ups.
class LeakageIndex {
 public:
  /// `threshold` (0 < t <= 1): a Jaccard similarity at or above it is a near-duplicate.
  LeakageIndex(std::vector<LeakageTarget> targets, double threshold, int shingle_width = 5);

  /// The exact match if there is one, else the most similar target at or above the threshold
  /// (the first indexed on ties), else nothing.
  [[nodiscard]] std::optional<LeakageMatch> find(std::string_view prompt) const;

  [[nodiscard]] const std::vector<LeakageTarget>& targets() const noexcept { return targets_; }
  [[nodiscard]] double threshold() const noexcept { return threshold_; }
  [[nodiscard]] int shingle_width() const noexcept { return width_; }

 private:
  std::vector<LeakageTarget> targets_;
  double threshold_;
  int width_;
  std::unordered_multimap<std::string, std::size_t> exact_;  ///< normalised text → target
  std::vector<std::vector<std::uint64_t>> shingles_;         ///< per target
  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> postings_;  ///< shingle → targets
};

}  // namespace medsafe
