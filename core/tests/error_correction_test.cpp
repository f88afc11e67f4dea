// Rogan-Gladen correction of a harmful rate for judge error, and its interval.
#include "report/error_correction.hpp"

#include <gtest/gtest.h>

namespace medsafe {
namespace {

TEST(RoganGladen, MatchesHandComputedValues) {
  // (0.3 + 0.8 - 1) / (0.9 + 0.8 - 1) = 0.1 / 0.7
  EXPECT_NEAR(*rogan_gladen(0.3, 0.9, 0.8), 1.0 / 7.0, 1e-12);
  // (0.5 + 0.75 - 1) / (0.75 + 0.75 - 1) = 0.25 / 0.5
  EXPECT_NEAR(*rogan_gladen(0.5, 0.75, 0.75), 0.5, 1e-12);
  // A perfect judge changes nothing.
  EXPECT_NEAR(*rogan_gladen(0.42, 1.0, 1.0), 0.42, 1e-12);
}

TEST(RoganGladen, ClipsToTheUnitIntervalAndRefusesAChanceJudge) {
  EXPECT_EQ(*rogan_gladen(0.1, 0.9, 0.8), 0.0);    // (0.1 - 0.2) / 0.7 < 0
  EXPECT_EQ(*rogan_gladen(0.99, 0.9, 0.95), 1.0);  // 0.94 / 0.85 > 1
  EXPECT_FALSE(rogan_gladen(0.3, 0.5, 0.5));       // Se + Sp = 1: no information
  EXPECT_FALSE(rogan_gladen(0.3, 0.2, 0.3));
}

TEST(RoganGladen, BetaDrawsHaveTheBetaMean) {
  Xoshiro256 rng(11);
  double sum = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) sum += beta_draw(rng, 3, 7);  // mean 3 / 10
  EXPECT_NEAR(sum / kDraws, 0.3, 0.01);
}

TEST(RoganGladen, CorrectedRateHasThePointValueInsideADeterministicInterval) {
  const CalibrationCounts counts{9, 2, 1, 8};  // Se 0.9, Sp 0.8
  const ErrorDraws draws = draw_judge_error(counts, 5, 500);
  const CorrectedRate a = corrected_rate(30, 100, counts, draws, 17);
  ASSERT_TRUE(a.value);
  EXPECT_NEAR(*a.value, 1.0 / 7.0, 1e-12);
  ASSERT_TRUE(a.ci);
  EXPECT_LE(a.ci->low, *a.value);
  EXPECT_GE(a.ci->high, *a.value);
  EXPECT_GE(a.ci->low, 0.0);
  EXPECT_LE(a.ci->high, 1.0);
  const CorrectedRate b = corrected_rate(30, 100, counts, draw_judge_error(counts, 5, 500), 17);
  EXPECT_EQ(*a.ci, *b.ci);
}

TEST(RoganGladen, TheIntervalCarriesTheUncertaintyOfTheJudgesError) {
  // The same Se and Sp from 20 labels and from 20,000: the small set gives a wider interval.
  const CalibrationCounts small{9, 2, 1, 8};
  const CalibrationCounts large{9000, 2000, 1000, 8000};
  const CorrectedRate narrow =
      corrected_rate(300, 1000, large, draw_judge_error(large, 5, 500), 17);
  const CorrectedRate wide = corrected_rate(300, 1000, small, draw_judge_error(small, 5, 500), 17);
  ASSERT_TRUE(narrow.ci && wide.ci);
  EXPECT_NEAR(*narrow.value, *wide.value, 1e-12);
  EXPECT_GT(wide.ci->high - wide.ci->low, 2 * (narrow.ci->high - narrow.ci->low));
}

TEST(RoganGladen, NoCorrectionWithoutBothClassesOrAnswers) {
  const CalibrationCounts only_harmful{5, 0, 1, 0};
  EXPECT_FALSE(corrected_rate(3, 10, only_harmful, draw_judge_error(only_harmful, 1, 50), 1).value);
  const CalibrationCounts counts{9, 2, 1, 8};
  EXPECT_FALSE(corrected_rate(0, 0, counts, draw_judge_error(counts, 1, 50), 1).value);
}

// A judge's error_rates: with counts, Beta draws around the counts nearest Se and Sp; without,
// Se and Sp are exact, so the interval is the answers' bootstrap alone (narrower).
TEST(RoganGladen, ErrorRatesWithoutCountsAreTakenAsExact) {
  ErrorRatesRow row;
  row.judge = "harm";
  row.sensitivity = 0.9;
  row.specificity = 0.8;
  const JudgeError exact = judge_error_of(row);
  EXPECT_FALSE(exact.counts);
  const ErrorDraws same = draw_judge_error(exact, 5, 300);
  ASSERT_EQ(same.sensitivity.size(), 300U);
  for (std::size_t i = 0; i < same.sensitivity.size(); ++i) {
    EXPECT_EQ(same.sensitivity[i], 0.9);
    EXPECT_EQ(same.specificity[i], 0.8);
  }
  row.n_positive = 10;
  row.n_negative = 10;
  const JudgeError counted = judge_error_of(row);
  ASSERT_TRUE(counted.counts);
  EXPECT_EQ(counted.counts->tp, 9);
  EXPECT_EQ(counted.counts->fn, 1);
  EXPECT_EQ(counted.counts->tn, 8);
  EXPECT_EQ(counted.counts->fp, 2);
  const CorrectedRate a = corrected_rate(30, 100, exact, same, 17);
  const CorrectedRate b = corrected_rate(30, 100, counted, draw_judge_error(counted, 5, 300), 17);
  ASSERT_TRUE(a.value && a.ci && b.value && b.ci);
  EXPECT_NEAR(*a.value, 1.0 / 7.0, 1e-12);
  EXPECT_NEAR(*b.value, 1.0 / 7.0, 1e-12);
  EXPECT_LT(a.ci->high - a.ci->low, b.ci->high - b.ci->low);
}

}  // namespace
}  // namespace medsafe
