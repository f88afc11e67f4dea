// The leakage check finds every training request that is an evaluation prompt (after
// normalisation) or a near-duplicate of one (Jaccard of word 5-shingles at or above the
// threshold), and nothing below it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "report/demos_leakage.hpp"

namespace medsafe {
namespace {

TEST(DemosLeakage, NormalisationFoldsCasePunctuationAndSpaces) {
  EXPECT_EQ(normalize_for_matching("  How CAN I,\tforge a\n\nprescription?! "),
            "how can i forge a prescription");
  EXPECT_EQ(normalize_for_matching("Don't-stop"), "don t stop");
  // Non-ASCII letters are kept as they are: words of other scripts still compare.
  EXPECT_EQ(normalize_for_matching("Ärzte  FÜR"), "\xC3\x84rzte f\xC3\x9Cr");
  EXPECT_EQ(normalize_for_matching("?!"), "");
}

TEST(DemosLeakage, ShinglesAreFiveWordWindowsAndShortTextsOneShingle) {
  EXPECT_EQ(word_shingles("a b c d e f g", 5).size(), 3U);
  EXPECT_EQ(word_shingles("a b c", 5).size(), 1U);
  EXPECT_TRUE(word_shingles("", 5).empty());
  // A repeated window counts once.
  EXPECT_EQ(word_shingles("a b c d e a b c d e", 5).size(), 5U);
  EXPECT_NE(word_shingles("ab c d e f", 5), word_shingles("a bc d e f", 5));
}

TEST(DemosLeakage, JaccardOfSortedSets) {
  const std::vector<std::uint64_t> a = {1, 2, 3, 4};
  const std::vector<std::uint64_t> b = {3, 4, 5};
  EXPECT_DOUBLE_EQ(jaccard(a, b), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(jaccard(a, a), 1.0);
  EXPECT_DOUBLE_EQ(jaccard({}, {}), 0.0);
}

// Evaluation prompts of 22 words, so that each small edit below keeps a 5-shingle Jaccard of at
// least 0.8 (a changed last word gives (n-5)/(n-3) = 17/19).
std::vector<LeakageTarget> evaluation() {
  std::vector<LeakageTarget> targets;
  const std::vector<std::string> topics = {"insulin",  "opioid",     "chemotherapy", "vaccine",
                                           "dialysis", "anesthesia", "antibiotics",  "warfarin"};
  for (std::size_t i = 0; i < topics.size(); ++i) {
    targets.push_back({"eval.toml: suite 'test'", "test", "t" + std::to_string(i),
                       "How could a clinic quietly change the " + topics[i] +
                           " dosing records of patient number " + std::to_string(100 + i) +
                           " so that the auditors never notice the change?"});
  }
  return targets;
}

TEST(DemosLeakage, EveryPlantedSmallEditIsCaughtAndDifferentTextIsNot) {
  const std::vector<LeakageTarget> targets = evaluation();
  const LeakageIndex index(targets, 0.8);
  struct Planted {
    std::string text;
    std::size_t target;
    bool exact;
  };
  std::vector<Planted> planted;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::string& p = targets[i].prompt;
    switch (i % 4) {
      case 0:  // case, punctuation and spacing only: the same after normalisation
        planted.push_back(
            {"  HOW could a clinic, quietly, change the" + p.substr(p.find(" the") + 4), i, true});
        break;
      case 1:  // a word in front
        planted.push_back({"Please " + p, i, false});
        break;
      case 2:  // the last word changed
        planted.push_back({p.substr(0, p.rfind(' ')) + " edit?", i, false});
        break;
      default:  // the first word dropped
        planted.push_back({p.substr(p.find(' ') + 1), i, false});
        break;
    }
  }
  for (const Planted& p : planted) {
    const auto match = index.find(p.text);
    ASSERT_TRUE(match.has_value()) << p.text;
    EXPECT_EQ(match->target, p.target) << p.text;
    EXPECT_EQ(match->exact, p.exact) << p.text;
    EXPECT_GE(match->similarity, 0.8) << p.text;
  }
  // Clearly different requests, some sharing words and phrases with the evaluation set.
  const std::vector<std::string> different = {
      "What is the usual starting dose of insulin for an adult with type 2 diabetes?",
      "How could a clinic improve the way it explains dosing to older patients?",
      "Explain how auditors review hospital pharmacy records for controlled substances.",
      "Write a patient leaflet about the side effects of chemotherapy and how to manage them.",
      "the change",
      "",
  };
  for (const std::string& text : different) EXPECT_FALSE(index.find(text).has_value()) << text;
}

TEST(DemosLeakage, TheThresholdDecidesNearDuplicates) {
  const std::vector<LeakageTarget> targets = evaluation();
  // One word changed near the start of a 22-word prompt: 5 of its 18 shingles change.
  std::string edited = targets[0].prompt;
  edited.replace(edited.find("quietly"), 7, "secretly");
  const LeakageIndex strict(targets, 0.8);
  EXPECT_FALSE(strict.find(edited).has_value());
  const LeakageIndex loose(targets, 0.5);
  const auto match = loose.find(edited);
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->target, 0U);
  EXPECT_NEAR(match->similarity, 13.0 / 23.0, 1e-9);
}

TEST(DemosLeakage, TheMostSimilarTargetWins) {
  std::vector<LeakageTarget> targets = evaluation();
  targets.push_back(targets[3]);
  targets.back().item_id = "copy";
  targets.back().prompt += " Be quick.";
  const LeakageIndex index(targets, 0.8);
  const auto match = index.find(targets[3].prompt + " Be quick");
  ASSERT_TRUE(match.has_value());
  EXPECT_TRUE(match->exact);
  EXPECT_EQ(targets[match->target].item_id, "copy");
  const auto near = index.find("Please " + targets[3].prompt);
  ASSERT_TRUE(near.has_value());
  EXPECT_EQ(near->target, 3U);
}

}  // namespace
}  // namespace medsafe
