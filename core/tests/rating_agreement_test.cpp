// Agreement of ordered ratings: kappa, quadratic-weighted kappa and Krippendorff's alpha, checked
// against hand-computed tables and published worked examples.
#include "report/rating_agreement.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "report/bootstrap.hpp"

namespace medsafe {
namespace {

RatingTable table_of(const std::vector<std::pair<int, int>>& pairs, int lowest, int highest) {
  RatingTable table(lowest, highest);
  for (const auto& [a, b] : pairs) EXPECT_TRUE(table.add(a, b));
  return table;
}

// Ten answers scored 1-5 by a person (first) and a judge (second).
const std::vector<std::pair<int, int>> kTen = {{1, 1}, {1, 1}, {1, 2}, {2, 2}, {3, 3},
                                               {3, 2}, {4, 5}, {5, 5}, {5, 5}, {5, 4}};

TEST(RatingAgreement, HandComputedFiveByFive) {
  const RatingTable t = table_of(kTen, 1, 5);
  EXPECT_EQ(t.n(), 10);
  EXPECT_EQ(t.at(1, 1), 2);
  EXPECT_EQ(t.at(5, 4), 1);
  EXPECT_EQ(t.at(4, 5), 1);
  EXPECT_EQ(t.at(0, 1), 0);  // outside the scale
  EXPECT_DOUBLE_EQ(exact_agreement(t), 0.6);
  // Marginals: people 3,1,2,1,3, the judge 2,3,1,1,3; pe = (6+3+2+1+9)/100 = 0.21;
  // kappa = (0.6 - 0.21) / 0.79 = 39/79.
  EXPECT_NEAR(cohen_kappa(t), 39.0 / 79.0, 1e-12);
  // Observed mean squared difference 4/10; expected sum r_i c_j (i-j)^2 / 100 = 5.
  EXPECT_NEAR(quadratic_weighted_kappa(t), 1.0 - 0.4 / 5.0, 1e-12);
  // Coincidence totals 5,4,3,2,6 over n = 20 pairable values (exact fractions by hand).
  EXPECT_NEAR(krippendorff_alpha(t, AlphaMetric::ordinal), 7583.0 / 8400.0, 1e-12);
  EXPECT_NEAR(krippendorff_alpha(t, AlphaMetric::interval), 231.0 / 250.0, 1e-12);
  EXPECT_NEAR(krippendorff_alpha(t, AlphaMetric::nominal), 79.0 / 155.0, 1e-12);
}

TEST(RatingAgreement, KrippendorffsPublishedExample) {
  // Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers x 12
  // units example with missing values: nominal 0.743, ordinal 0.815, interval 0.849.
  const std::vector<std::vector<int>> units = {
      {1, 1, 1},    {2, 2, 3, 2}, {3, 3, 3, 3}, {3, 3, 3, 3}, {2, 2, 2, 2}, {1, 2, 3, 4},
      {4, 4, 4, 4}, {1, 1, 2, 1}, {2, 2, 2, 2}, {5, 5, 5},    {1, 1},       {3}};
  EXPECT_NEAR(krippendorff_alpha(units, AlphaMetric::nominal), 0.743, 0.0005);
  EXPECT_NEAR(krippendorff_alpha(units, AlphaMetric::ordinal), 0.815, 0.0005);
  EXPECT_NEAR(krippendorff_alpha(units, AlphaMetric::interval), 0.849, 0.0005);
}

TEST(RatingAgreement, TwoRaterAlphaIsTheGeneralAlphaOfPairs) {
  const RatingTable t = table_of(kTen, 1, 5);
  std::vector<std::vector<int>> units;
  for (const auto& [a, b] : kTen) units.push_back({a, b});
  for (const AlphaMetric m : {AlphaMetric::nominal, AlphaMetric::ordinal, AlphaMetric::interval}) {
    EXPECT_NEAR(krippendorff_alpha(t, m), krippendorff_alpha(units, m), 1e-12);
  }
}

TEST(RatingAgreement, QuadraticKappaPublishedExamples) {
  // Maple's EssayTools QuadraticWeightedKappa help page: two examples on a 1-10 scale.
  const std::vector<int> a = {9, 7, 8, 7, 6, 8, 3, 5, 10};
  auto qwk = [&a](const std::vector<int>& b) {
    RatingTable t(1, 10);
    for (std::size_t i = 0; i < a.size(); ++i) t.add(a[i], b[i]);
    return quadratic_weighted_kappa(t);
  };
  EXPECT_NEAR(qwk({8, 8, 6, 6, 7, 6, 1, 4, 8}), 0.758620689655172, 1e-12);
  EXPECT_NEAR(qwk({3, 5, 6, 6, 7, 6, 1, 4, 8}), 0.438095238095238, 1e-12);
}

TEST(RatingAgreement, QuadraticKappaEqualsLinsConcordance) {
  // 2 s_ab / (s_a^2 + s_b^2 + (mean_a - mean_b)^2), population moments: an independent formula.
  Xoshiro256 rng(7);
  RatingTable t(1, 5);
  std::vector<std::pair<double, double>> pairs;
  for (int i = 0; i < 500; ++i) {
    const int a = 1 + static_cast<int>(rng.below(5));
    const int b = std::clamp(a + static_cast<int>(rng.below(3)) - 1, 1, 5);
    t.add(a, b);
    pairs.emplace_back(a, b);
  }
  double ma = 0, mb = 0;
  for (const auto& [a, b] : pairs) ma += a, mb += b;
  ma /= static_cast<double>(pairs.size());
  mb /= static_cast<double>(pairs.size());
  double saa = 0, sbb = 0, sab = 0;
  for (const auto& [a, b] : pairs) {
    saa += (a - ma) * (a - ma);
    sbb += (b - mb) * (b - mb);
    sab += (a - ma) * (b - mb);
  }
  const auto n = static_cast<double>(pairs.size());
  const double ccc = 2 * sab / n / (saa / n + sbb / n + (ma - mb) * (ma - mb));
  EXPECT_NEAR(quadratic_weighted_kappa(t), ccc, 1e-12);
}

TEST(RatingAgreement, BinaryKappaIsCohensTextbookValue) {
  // 20 both yes, 15 both no, 5 and 10 disagreements: kappa 0.4 (as judge-eval's 2x2 figure).
  RatingTable t(0, 1);
  for (int i = 0; i < 20; ++i) t.add(1, 1);
  for (int i = 0; i < 15; ++i) t.add(0, 0);
  for (int i = 0; i < 5; ++i) t.add(1, 0);
  for (int i = 0; i < 10; ++i) t.add(0, 1);
  EXPECT_NEAR(cohen_kappa(t), 0.4, 1e-12);
  // With two categories the quadratic weights are the unweighted ones.
  EXPECT_NEAR(quadratic_weighted_kappa(t), 0.4, 1e-12);
}

TEST(RatingAgreement, UndefinedFiguresAreNaN) {
  const RatingTable empty(1, 5);
  EXPECT_TRUE(std::isnan(exact_agreement(empty)));
  EXPECT_TRUE(std::isnan(cohen_kappa(empty)));
  EXPECT_TRUE(std::isnan(quadratic_weighted_kappa(empty)));
  EXPECT_TRUE(std::isnan(krippendorff_alpha(empty, AlphaMetric::ordinal)));
  // Everything in one category: no variation to agree about.
  const RatingTable same = table_of({{3, 3}, {3, 3}, {3, 3}}, 1, 5);
  EXPECT_DOUBLE_EQ(exact_agreement(same), 1.0);
  EXPECT_TRUE(std::isnan(cohen_kappa(same)));
  EXPECT_TRUE(std::isnan(quadratic_weighted_kappa(same)));
  EXPECT_TRUE(std::isnan(krippendorff_alpha(same, AlphaMetric::ordinal)));
  RatingTable t(1, 5);
  EXPECT_FALSE(t.add(6, 1));
  EXPECT_EQ(t.n(), 0);
}

}  // namespace
}  // namespace medsafe
