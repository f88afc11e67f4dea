#include "synthetic_suite.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <string_view>

namespace medsafe::synthetic {
namespace {

// Plain, harmless words: load prompts must never look like requests a judge or a safety filter
// would react to.
constexpr std::array<std::string_view, 96> kWords = {
    "the",     "river",  "table",   "window",  "garden",  "morning", "quiet",    "paper",
    "light",   "orange", "simple",  "travel",  "bridge",  "cloud",   "number",   "yellow",
    "pencil",  "music",  "gentle",  "forest",  "market",  "letter",  "summer",   "winter",
    "across",  "under",  "between", "often",   "little",  "large",   "green",    "stone",
    "coffee",  "basket", "pillow",  "ladder",  "circle",  "square",  "mountain", "valley",
    "station", "harbor", "meadow",  "candle",  "button",  "ribbon",  "kettle",   "blanket",
    "early",   "later",  "slowly",  "bright",  "soft",    "warm",    "round",    "narrow",
    "walks",   "reads",  "builds",  "paints",  "counts",  "carries", "follows",  "watches",
    "a",       "and",    "with",    "near",    "over",    "into",    "from",     "along",
    "chair",   "lamp",   "road",    "field",   "shell",   "feather", "puzzle",   "harvest",
    "cotton",  "silver", "wooden",  "painted", "folded",  "open",    "calm",     "plain",
    "apple",   "pebble", "tunnel",  "compass", "lantern", "orchard", "saucer",   "thread",
};
constexpr std::int64_t kSentenceWords = 12;

std::uint64_t mix(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::int64_t clamp_length(double value, const LengthSpec& spec) {
  double rounded = std::floor(value + 0.5);
  rounded = std::max(rounded, static_cast<double>(spec.min));
  if (spec.max > 0) rounded = std::min(rounded, static_cast<double>(spec.max));
  // Far beyond any context window: keeps the cast defined for absurd spreads.
  rounded = std::min(rounded, 1e9);
  return static_cast<std::int64_t>(rounded);
}

std::string item_id(std::int64_t index, std::int64_t count) {
  // Zero-padded to the width of `count` (at least 4), so ids sort in order.
  const std::size_t width = std::max<std::size_t>(4, std::to_string(count).size());
  std::string digits = std::to_string(index);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return "syn-" + digits;
}

Distribution distribution_from(const std::string& name) {
  if (name == "uniform") return Distribution::uniform;
  if (name == "normal") return Distribution::normal;
  if (name == "lognormal") return Distribution::lognormal;
  return Distribution::fixed;
}

}  // namespace

std::uint64_t Random::next() noexcept {
  state_ += 0x9e3779b97f4a7c15ULL;
  return mix(state_);
}

double Random::uniform() noexcept {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;  // 53 random bits
}

double Random::normal() noexcept {
  const double u1 = 1.0 - uniform();  // (0, 1]: log() stays finite
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::int64_t draw_length(const LengthSpec& spec, Random& random) {
  const auto mean = static_cast<double>(spec.mean);
  switch (spec.distribution) {
    case Distribution::fixed:
      return clamp_length(mean, spec);
    case Distribution::uniform: {
      // Whole numbers from round(mean - spread) to round(mean + spread), equally likely.
      const double low = std::floor(mean - spec.spread + 0.5);
      const double high = std::floor(mean + spec.spread + 0.5);
      return clamp_length(low + std::floor(random.uniform() * (high - low + 1)), spec);
    }
    case Distribution::normal:
      return clamp_length(mean + spec.spread * random.normal(), spec);
    case Distribution::lognormal: {
      // The parameters whose lognormal has this mean and standard deviation.
      const double sigma2 = std::log1p((spec.spread / mean) * (spec.spread / mean));
      const double mu = std::log(mean) - sigma2 / 2;
      return clamp_length(std::exp(mu + std::sqrt(sigma2) * random.normal()), spec);
    }
  }
  return clamp_length(mean, spec);
}

std::string neutral_text(std::int64_t words, Random& random) {
  std::string text;
  text.reserve(static_cast<std::size_t>(words) * 8);
  for (std::int64_t i = 0; i < words; ++i) {
    const std::string_view word = kWords[random.next() % kWords.size()];
    const bool sentence_start = i % kSentenceWords == 0;
    const bool sentence_end = i % kSentenceWords == kSentenceWords - 1 || i == words - 1;
    if (i > 0) text += ' ';
    const std::size_t at = text.size();
    text += word;
    if (sentence_start) text[at] = static_cast<char>(text[at] - 'a' + 'A');
    if (sentence_end) text += '.';
  }
  return text;
}

PromptItem make_item(std::int64_t index, std::int64_t count, const LengthSpec& spec,
                     std::uint64_t seed) {
  // Each item has its own stream, so item i does not depend on the items before it.
  Random random(mix(seed ^ mix(static_cast<std::uint64_t>(index))));
  const std::int64_t words = draw_length(spec, random);
  PromptItem item;
  item.id = item_id(index, count);
  item.prompt = neutral_text(words, random);
  item.fields.emplace_back("tokens", std::to_string(words));
  return item;
}

std::vector<PromptItem> make_items(std::int64_t count, const LengthSpec& spec, std::uint64_t seed) {
  std::vector<PromptItem> items;
  items.reserve(static_cast<std::size_t>(std::max<std::int64_t>(count, 0)));
  for (std::int64_t i = 1; i <= count; ++i) items.push_back(make_item(i, count, spec, seed));
  return items;
}

SyntheticSuite::SyntheticSuite(const Config& config, std::uint64_t run_seed)
    : count_(config.integer("count")) {
  spec_.mean = config.integer("prompt_tokens");
  spec_.distribution = distribution_from(config.string("distribution"));
  spec_.spread = config.number("spread");
  spec_.min = config.integer("min_tokens");
  spec_.max = config.integer("max_prompt_tokens");
  const std::optional<std::int64_t> seed = config.optional_integer("seed");
  seed_ = seed ? static_cast<std::uint64_t>(*seed) : run_seed;
  if (count_ < 1) throw config.error("count", "must be 1 or more");
  if (spec_.mean < 1) throw config.error("prompt_tokens", "must be 1 or more");
  if (!(spec_.spread >= 0) || !std::isfinite(spec_.spread)) {
    throw config.error("spread", "must be a finite number, 0 or more");
  }
  if (spec_.min < 1) throw config.error("min_tokens", "must be 1 or more");
  if (spec_.max < 0) throw config.error("max_prompt_tokens", "must be 0 (no limit) or more");
  if (spec_.max > 0 && spec_.max < spec_.min) {
    throw config.error("max_prompt_tokens",
                       "must not be below min_tokens (" + std::to_string(spec_.min) + ")");
  }
}

std::vector<PromptItem> SyntheticSuite::load() { return make_items(count_, spec_, seed_); }

void SyntheticSuite::stream(const ItemSink& sink, std::size_t batch) {
  // Made as they are handed out: a million-item load test never holds more than one batch.
  batch = std::max<std::size_t>(batch, 1);
  std::vector<PromptItem> items;
  items.reserve(
      static_cast<std::size_t>(std::min<std::int64_t>(count_, static_cast<std::int64_t>(batch))));
  for (std::int64_t i = 1; i <= count_; ++i) {
    items.push_back(make_item(i, count_, spec_, seed_));
    if (items.size() == batch || i == count_) {
      sink(items);
      items.clear();
    }
  }
}

std::string SyntheticSuite::domain() const { return "general"; }

}  // namespace medsafe::synthetic
