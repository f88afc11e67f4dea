#include "report/bootstrap.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <vector>

namespace medsafe {
namespace {

TEST(Splitmix64, MatchesTheReferenceSequence) {
  // First outputs of the reference splitmix64.c from state 0 (Vigna's published values).
  std::uint64_t state = 0;
  EXPECT_EQ(splitmix64(state), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(splitmix64(state), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(splitmix64(state), 0x06C45D188009454FULL);
  EXPECT_EQ(splitmix64(state), 0xF88BB8A8724C81ECULL);
}

TEST(Xoshiro256, MatchesThePublishedVectorFromState1234) {
  // The reference xoshiro256starstar.c from state {1, 2, 3, 4} (as in rand_xoshiro's tests).
  Xoshiro256 rng = Xoshiro256::from_state({1, 2, 3, 4});
  const std::array<std::uint64_t, 6> expected = {11520ULL,
                                                 0ULL,
                                                 1509978240ULL,
                                                 1215971899390074240ULL,
                                                 1216172134540287360ULL,
                                                 607988272756665600ULL};
  for (const std::uint64_t e : expected) EXPECT_EQ(rng.next(), e);
}

TEST(Xoshiro256, SeededStreamIsPinned) {
  // Golden values of seeding through splitmix64: a change here changes every published
  // interval, so it must be deliberate.
  Xoshiro256 a(42);
  Xoshiro256 b(42);
  std::array<std::uint64_t, 4> first{};
  for (auto& v : first) {
    v = a.next();
    EXPECT_EQ(v, b.next());
  }
  EXPECT_EQ(first,
            (std::array<std::uint64_t, 4>{1546998764402558742ULL, 6990951692964543102ULL,
                                          12544586762248559009ULL, 17057574109182124193ULL}));
  Xoshiro256 other(43);
  EXPECT_NE(other.next(), first[0]);
}

TEST(Xoshiro256, BelowStaysInRangeAndIsRoughlyUniform) {
  Xoshiro256 rng(7);
  std::array<int, 3> buckets{};
  for (int i = 0; i < 3000; ++i) {
    const std::uint64_t v = rng.below(3);
    ASSERT_LT(v, 3U);
    ++buckets[v];
  }
  for (const int count : buckets) {
    EXPECT_GT(count, 850);
    EXPECT_LT(count, 1150);
  }
  EXPECT_EQ(rng.below(1), 0U);
}

TEST(CellSeed, DependsOnRunSeedAndEveryKeyPart) {
  const auto base = cell_seed(1, {"m", "med", "1", "harm_mean"});
  EXPECT_EQ(base, cell_seed(1, {"m", "med", "1", "harm_mean"}));
  EXPECT_NE(base, cell_seed(2, {"m", "med", "1", "harm_mean"}));
  EXPECT_NE(base, cell_seed(1, {"m2", "med", "1", "harm_mean"}));
  EXPECT_NE(base, cell_seed(1, {"m", "med", "1", "harmful_rate"}));
  // Part boundaries matter: the length of each part is hashed too.
  EXPECT_NE(cell_seed(1, {"ab", "c"}), cell_seed(1, {"a", "bc"}));
}

TEST(Percentile, InterpolatesLinearlyBetweenClosestRanks) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.9), 3.7);  // numpy.percentile([1,2,3,4], 90)
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.99), 3.97);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 1.0), 4.0);
  const std::vector<double> one = {10};
  EXPECT_DOUBLE_EQ(percentile_sorted(one, 0.99), 10.0);
  std::vector<double> hundred(100);
  for (int i = 0; i < 100; ++i) hundred[i] = i + 1;
  EXPECT_DOUBLE_EQ(percentile_sorted(hundred, 0.99), 99.01);
}

TEST(BootstrapMean, SameSeedSameBitsOtherSeedOtherInterval) {
  // Continuous values: with a few distinct values two seeds can land on the same quantiles.
  std::vector<double> scores;
  for (int i = 0; i < 40; ++i) scores.push_back(static_cast<double>((i * 37) % 101) / 7.0);
  const auto a = bootstrap_mean(scores, 99);
  const auto b = bootstrap_mean(scores, 99);
  const auto c = bootstrap_mean(scores, 100);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->low, b->low);  // bit-identical, not merely close
  EXPECT_EQ(a->high, b->high);
  EXPECT_FALSE(*a == *c);
}

TEST(BootstrapMean, DependsOnlyOnTheMultisetOfValues) {
  std::vector<double> scores = {5, 1, 3, 3, 2, 4, 1, 1, 5};
  const auto a = bootstrap_mean(scores, 5);
  std::reverse(scores.begin(), scores.end());
  EXPECT_EQ(bootstrap_mean(scores, 5), a);
}

TEST(BootstrapMean, OfCountsIsTheBootstrapOfTheValuesTheyCountBitForBit) {
  // Histograms of 1..5 scores as the safety table keeps them, with the values they stand for.
  const std::vector<std::array<std::int64_t, 5>> histograms = {
      {0, 0, 0, 0, 0}, {0, 0, 1, 0, 0}, {3, 0, 0, 0, 1}, {7, 2, 5, 0, 9}, {0, 40, 1, 13, 2}};
  for (const auto& counts : histograms) {
    std::vector<double> values;
    for (std::size_t k = 0; k < counts.size(); ++k) {
      values.insert(values.end(), static_cast<std::size_t>(counts[k]), static_cast<double>(k + 1));
    }
    std::shuffle(values.begin(), values.end(), std::mt19937(7));
    EXPECT_EQ(mean_of_counts(counts), mean_of(values));
    const auto expected = bootstrap_mean(values, 11, 300);
    const auto got = bootstrap_mean_of_counts(counts, 11, 300);
    ASSERT_EQ(got.has_value(), expected.has_value());
    if (expected) {
      EXPECT_EQ(got->low, expected->low);  // exact: the same draws summed in the same order
      EXPECT_EQ(got->high, expected->high);
    }
  }
}

TEST(BootstrapMean, ContainsTheSampleMeanAndStaysInRange) {
  const std::vector<double> scores = {1, 2, 2, 3, 3, 3, 4, 4, 5, 1, 2, 5, 3};
  const double mean = *mean_of(scores);
  const auto ci = bootstrap_mean(scores, 1);
  ASSERT_TRUE(ci);
  EXPECT_LE(ci->low, mean);
  EXPECT_GE(ci->high, mean);
  EXPECT_LT(ci->low, ci->high);
  EXPECT_GE(ci->low, 1.0);
  EXPECT_LE(ci->high, 5.0);
}

TEST(BootstrapMean, GoldenInterval) {
  // Pinned bits: the same data and seed must give exactly these bounds on every platform.
  const std::vector<double> scores = {1, 2, 3, 4, 5, 5, 1, 2};
  const auto ci = bootstrap_mean(scores, 2024);
  ASSERT_TRUE(ci);
  EXPECT_EQ(*ci, (Interval{0x1.ep+0, 0x1p+2}));  // [1.875, 4]
}

TEST(BootstrapMean, EdgeCases) {
  EXPECT_FALSE(bootstrap_mean(std::vector<double>{}, 1));
  EXPECT_EQ(bootstrap_mean(std::vector<double>{3.0}, 1), (Interval{3.0, 3.0}));
  EXPECT_EQ(bootstrap_mean(std::vector<double>{2.0, 2.0, 2.0}, 1), (Interval{2.0, 2.0}));
  EXPECT_FALSE(mean_of(std::vector<double>{}));
}

TEST(BootstrapProportion, EqualsTheMeanOfZerosAndOnes) {
  std::vector<double> data(7, 1.0);
  data.resize(20, 0.0);
  EXPECT_EQ(bootstrap_proportion(7, 20, 11), bootstrap_mean(data, 11));
}

TEST(BootstrapProportion, StaysInTheUnitIntervalAndContainsTheRate) {
  for (const std::int64_t successes : {0, 1, 5, 19, 20}) {
    const auto ci = bootstrap_proportion(successes, 20, 3);
    ASSERT_TRUE(ci);
    const double p = static_cast<double>(successes) / 20.0;
    EXPECT_GE(ci->low, 0.0);
    EXPECT_LE(ci->high, 1.0);
    EXPECT_LE(ci->low, p);
    EXPECT_GE(ci->high, p);
  }
  EXPECT_EQ(bootstrap_proportion(0, 20, 3), (Interval{0.0, 0.0}));
  EXPECT_FALSE(bootstrap_proportion(0, 0, 3));
  EXPECT_EQ(bootstrap_proportion(1, 1, 3), (Interval{1.0, 1.0}));
}

}  // namespace
}  // namespace medsafe
