#include "synthetic_suite.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "medsafe/error.hpp"
#include "medsafe/manifest.hpp"
#include "support/loaded_plugin.hpp"

namespace medsafe::synthetic {
namespace {

const ConfigSchema& schema() {
  static const ConfigSchema s = read_manifest(SYNTHETIC_MANIFEST).config;
  return s;
}

std::vector<PromptItem> load(const std::string& toml, std::uint64_t run_seed = 0) {
  SyntheticSuite suite(Config::from_toml(toml, schema(), "run.toml"), run_seed);
  return suite.load();
}

std::int64_t words(const std::string& text) {
  std::istringstream in(text);
  std::int64_t n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

struct Moments {
  double mean = 0;
  double sd = 0;
  std::int64_t min = 0;
  std::int64_t max = 0;
};

Moments moments(const std::vector<PromptItem>& items) {
  Moments m;
  m.min = INT64_MAX;
  double sum = 0;
  double squares = 0;
  for (const PromptItem& item : items) {
    const std::int64_t n = words(item.prompt);
    EXPECT_EQ(std::to_string(n), item.fields.at(0).second) << item.id;  // the field is true
    sum += static_cast<double>(n);
    squares += static_cast<double>(n) * static_cast<double>(n);
    m.min = std::min(m.min, n);
    m.max = std::max(m.max, n);
  }
  const auto count = static_cast<double>(items.size());
  m.mean = sum / count;
  m.sd = std::sqrt(squares / count - m.mean * m.mean);
  return m;
}

TEST(SyntheticSuite, DefaultsAndItemShape) {
  SyntheticSuite suite(Config::from_toml("", schema(), "run.toml"), 0);
  EXPECT_EQ(suite.domain(), "general");
  EXPECT_TRUE(suite.categories().empty());
  const std::vector<PromptItem> items = suite.load();
  ASSERT_EQ(items.size(), 100U);
  EXPECT_EQ(items[0].id, "syn-0001");
  EXPECT_EQ(items[99].id, "syn-0100");
  for (const PromptItem& item : items) {
    EXPECT_EQ(words(item.prompt), 128) << item.id;
    EXPECT_TRUE(item.category.empty());
    EXPECT_TRUE(item.reference.empty());
    EXPECT_TRUE(std::isupper(static_cast<unsigned char>(item.prompt[0])));
    EXPECT_EQ(item.prompt.back(), '.');
  }
  EXPECT_EQ(load("count = 12345\nprompt_tokens = 2").back().id, "syn-12345");
}

TEST(SyntheticSuite, StreamsTheItemsOfLoadInBoundedBatches) {
  const std::string toml = "count = 25\ndistribution = 'normal'\nspread = 9\nseed = 3";
  SyntheticSuite suite(Config::from_toml(toml, schema(), "run.toml"), 0);
  const std::vector<PromptItem> all = suite.load();
  std::vector<PromptItem> streamed;
  std::vector<std::size_t> sizes;
  suite.stream(
      [&](std::span<PromptItem> batch) {
        sizes.push_back(batch.size());
        for (PromptItem& item : batch) streamed.push_back(std::move(item));
      },
      10);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));
  ASSERT_EQ(streamed.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(streamed[i].id, all[i].id);
    EXPECT_EQ(streamed[i].prompt, all[i].prompt);
    EXPECT_EQ(streamed[i].fields, all[i].fields);
  }
}

TEST(SyntheticSuite, DeterministicPerSeed) {
  const std::string toml = "count = 50\ndistribution = 'lognormal'\nspread = 40\n";
  const std::vector<PromptItem> a = load(toml + "seed = 7");
  const std::vector<PromptItem> b = load(toml + "seed = 7", /*run_seed=*/99);
  const std::vector<PromptItem> c = load(toml + "seed = 8");
  ASSERT_EQ(a.size(), b.size());
  int differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, b[i].prompt);
    differ += a[i].prompt != c[i].prompt ? 1 : 0;
  }
  EXPECT_EQ(differ, 50);
  // Without a seed key the run's seed decides.
  EXPECT_EQ(load(toml, 7)[3].prompt, a[3].prompt);
  EXPECT_NE(load(toml, 8)[3].prompt, a[3].prompt);
  // Item i does not depend on the count.
  EXPECT_EQ(load("count = 3\ndistribution = 'normal'\nspread = 9\nseed = 7")[2].prompt,
            load("count = 900\ndistribution = 'normal'\nspread = 9\nseed = 7")[2].prompt);
  // A fixed value, so that a change of the generator shows up as a failing test.
  Random r(42);
  EXPECT_EQ(r.next(), 0xbdd732262feb6e95ULL);
}

TEST(SyntheticSuite, LengthDistributionsWithinTolerance) {
  const Moments uniform =
      moments(load("count = 4000\nprompt_tokens = 100\ndistribution = 'uniform'\nspread = 50"));
  EXPECT_NEAR(uniform.mean, 100, 2);
  EXPECT_NEAR(uniform.sd, 101.0 / std::sqrt(12.0), 1.5);  // 101 equally likely lengths
  EXPECT_EQ(uniform.min, 50);
  EXPECT_EQ(uniform.max, 150);

  const Moments normal =
      moments(load("count = 4000\nprompt_tokens = 200\ndistribution = 'normal'\nspread = 30"));
  EXPECT_NEAR(normal.mean, 200, 2);
  EXPECT_NEAR(normal.sd, 30, 1.5);

  const Moments lognormal =
      moments(load("count = 4000\nprompt_tokens = 300\ndistribution = 'lognormal'\nspread = 150"));
  EXPECT_NEAR(lognormal.mean, 300, 9);
  EXPECT_NEAR(lognormal.sd, 150, 15);
  EXPECT_GT(lognormal.max - 300, 300 - lognormal.min);  // the long right tail

  const Moments fixed = moments(load("count = 300\nprompt_tokens = 17\nspread = 50"));
  EXPECT_EQ(fixed.min, 17);
  EXPECT_EQ(fixed.max, 17);
}

TEST(SyntheticSuite, LengthsAreClamped) {
  const Moments m =
      moments(load("count = 2000\nprompt_tokens = 20\ndistribution = 'normal'\n"
                   "spread = 40\nmin_tokens = 5\nmax_prompt_tokens = 30"));
  EXPECT_EQ(m.min, 5);
  EXPECT_EQ(m.max, 30);
  LengthSpec spec;
  spec.mean = 10;
  spec.distribution = Distribution::normal;
  spec.spread = 1e300;
  Random random(1);
  for (int i = 0; i < 100; ++i) {
    const std::int64_t n = draw_length(spec, random);
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 1'000'000'000);
  }
}

TEST(SyntheticSuite, NeutralTextHasExactlyTheWords) {
  Random random(3);
  for (const std::int64_t n : {1, 2, 11, 12, 13, 25, 1000}) {
    const std::string text = neutral_text(n, random);
    EXPECT_EQ(words(text), n);
    EXPECT_EQ(text.find("  "), std::string::npos);
  }
  std::set<std::string> distinct;
  std::istringstream in(neutral_text(2000, random));
  for (std::string w; in >> w;) distinct.insert(w);
  EXPECT_GT(distinct.size(), 80U);
}

std::string config_error(const std::string& toml) {
  try {
    (void)load(toml);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "no error";
}

TEST(SyntheticSuite, ConfigErrors) {
  EXPECT_NE(config_error("count = 0").find("run.toml:1:9: error: 'count' must be 1 or more"),
            std::string::npos);
  EXPECT_NE(config_error("prompt_tokens = 0").find("'prompt_tokens' must be 1"), std::string::npos);
  EXPECT_NE(config_error("spread = -1.0").find("'spread' must be a finite number"),
            std::string::npos);
  EXPECT_NE(config_error("min_tokens = 0").find("'min_tokens' must be 1"), std::string::npos);
  EXPECT_NE(config_error("min_tokens = 10\nmax_prompt_tokens = 5").find("not be below min_tokens"),
            std::string::npos);
  EXPECT_NE(config_error("distribution = 'zipf'").find("must be one of"), std::string::npos);
}

TEST(SyntheticModule, LoadsAndUsesTheRunSeed) {
  testing::LoadedPlugin plugin("synthetic", ComponentKind::suite);
  const Config config = plugin.config("count = 3\nprompt_tokens = 5");
  ComponentContext context = plugin.context(config);
  context.seed = 7;
  const auto suite = plugin.factory().suite(context);
  const std::vector<PromptItem> items = suite->load();
  ASSERT_EQ(items.size(), 3U);
  EXPECT_EQ(items[1].prompt, load("count = 3\nprompt_tokens = 5", 7)[1].prompt);
  EXPECT_EQ(suite->domain(), "general");
}

}  // namespace
}  // namespace medsafe::synthetic
