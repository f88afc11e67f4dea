#pragma once
/// The `synthetic` suite: prompts of neutral words with a chosen length distribution, for load
/// tests. Deterministic per seed on every platform (its own generator and distributions, not
/// the standard library's, whose outputs differ between implementations).
#include <cstdint>
#include <string>
#include <vector>

#include "medsafe/config.hpp"
#include "medsafe/suite.hpp"

namespace medsafe::synthetic {

/// How prompt lengths are drawn.
enum class Distribution : std::uint8_t { fixed, uniform, normal, lognormal };

/// The length distribution of the prompts, in words.
struct LengthSpec {
  std::int64_t mean = 128;
  Distribution distribution = Distribution::fixed;
  double spread = 0;     ///< half-width (uniform) or standard deviation (normal, lognormal)
  std::int64_t min = 1;  ///< at least 1
  std::int64_t max = 0;  ///< 0: no limit
};

/// splitmix64: a small, fast generator whose sequence is fixed by its seed everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept;
  /// Uniform in [0, 1).
  double uniform() noexcept;
  /// Standard normal (Box-Muller).
  double normal() noexcept;

 private:
  std::uint64_t state_;
};

/// One length drawn from `spec`: rounded to the nearest integer, clamped to [min, max].
[[nodiscard]] std::int64_t draw_length(const LengthSpec& spec, Random& random);

/// `words` neutral words in sentences of up to twelve (each begins with a capital and ends
/// with a full stop), exactly `words` whitespace-separated words.
[[nodiscard]] std::string neutral_text(std::int64_t words, Random& random);

/// Item `index` (1..count) of make_items(count, spec, seed), made alone.
[[nodiscard]] PromptItem make_item(std::int64_t index, std::int64_t count, const LengthSpec& spec,
                                   std::uint64_t seed);

/// Items 1..count: id "syn-0001" (four digits or more), the text, a field ("tokens", N). Item
/// i depends only on `seed`, `spec` and i.
[[nodiscard]] std::vector<PromptItem> make_items(std::int64_t count, const LengthSpec& spec,
                                                 std::uint64_t seed);

/// The suite: make_items() from its configuration; no categories; domain "general".
class SyntheticSuite final : public Suite {
 public:
  /// `config` has been validated against the synthetic manifest; `run_seed` is used when the
  /// config sets no seed. Throws a config Error for counts, lengths or spreads out of range.
  SyntheticSuite(const Config& config, std::uint64_t run_seed);

  std::vector<PromptItem> load() override;
  /// Makes the items batch by batch, never all at once.
  void stream(const ItemSink& sink, std::size_t batch) override;
  [[nodiscard]] std::string domain() const override;

 private:
  std::int64_t count_ = 0;
  LengthSpec spec_;
  std::uint64_t seed_ = 0;
};

}  // namespace medsafe::synthetic
