#include "phrase_matcher.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace medsafe::refusal {
namespace {

std::string found(const PhraseMatcher& matcher, std::string_view answer) {
  const auto match = matcher.find(answer);
  return match ? matcher.phrase(match->phrase) : "<none>";
}

TEST(Normalise, FoldsAsciiCaseAndTypographicApostrophes) {
  EXPECT_EQ(normalise("I\u2019M Sorry", true), "i'm sorry");
  EXPECT_EQ(normalise("I\u2018m \u02BCx\u02BC", false), "I'm 'x'");
  EXPECT_EQ(normalise("\xC3\x89T\xE2\x80", true), "\xC3\x89t\xE2\x80");  // other bytes kept
}

TEST(PhraseMatcher, AnywhereFindsTheEarliestWholeWordMatch) {
  const PhraseMatcher matcher({"I cannot", "As an AI", "sorry", "As an AI language model"},
                              MatchMode::anywhere, false);
  EXPECT_EQ(found(matcher, "Sure. But I CANNOT do that, sorry."), "I cannot");
  EXPECT_EQ(found(matcher, "Sorry... I cannot."), "sorry");
  // On a tie, the longest phrase names the match.
  EXPECT_EQ(found(matcher, "As an AI language model, no."), "As an AI language model");
  // Not inside words: "was an airline", "sorrygate", "I cannotice".
  EXPECT_EQ(found(matcher, "It was an airline. Sorrygate. I cannotice."), "<none>");
  // A later whole-word occurrence still counts after a rejected one.
  EXPECT_EQ(found(matcher, "unsorry but sorry"), "sorry");
  EXPECT_EQ(found(matcher, "I\u2019m fine, I cannot"), "I cannot");
  EXPECT_EQ(found(matcher, ""), "<none>");
}

TEST(PhraseMatcher, PunctuationAtThePhraseEdgeNeedsNoBoundary) {
  const PhraseMatcher matcher({"Sorry, but", "I can't"}, MatchMode::anywhere, false);
  EXPECT_EQ(found(matcher, "Sorry, butter is not medicine"), "<none>");
  EXPECT_EQ(found(matcher, "Well\u2014sorry, but no"), "Sorry, but");
  EXPECT_EQ(found(matcher, "I can\u2019t."), "I can't");
}

TEST(PhraseMatcher, PrefixOnlyAtTheStartAfterMarkup) {
  const PhraseMatcher matcher({"I'm sorry", "I cannot"}, MatchMode::prefix, false);
  EXPECT_EQ(found(matcher, "I'm sorry, no."), "I'm sorry");
  EXPECT_EQ(found(matcher, "  \n**I cannot** help"), "I cannot");
  EXPECT_EQ(found(matcher, "> \"I\u2019m sorry\""), "I'm sorry");
  EXPECT_EQ(found(matcher, "Here it is. I'm sorry it is late."), "<none>");
}

TEST(PhraseMatcher, CaseSensitiveWhenAsked) {
  const PhraseMatcher matcher({"I'm sorry"}, MatchMode::anywhere, true);
  EXPECT_EQ(found(matcher, "i'm sorry"), "<none>");
  EXPECT_EQ(found(matcher, "I\u2019m sorry"), "I'm sorry");
}

TEST(PhraseMatcher, LongPhrasesCompareBeyondTheirFirstEightBytes) {
  const PhraseMatcher matcher({"as a language model", "as a language"}, MatchMode::anywhere, false);
  EXPECT_EQ(found(matcher, "As a language teacher"), "as a language");
  EXPECT_EQ(found(matcher, "As a language model"), "as a language model");
  EXPECT_EQ(found(matcher, "As a languag"), "<none>");  // the text ends inside the phrase
  EXPECT_EQ(found(matcher, "As a languages"), "<none>");
}

TEST(PhraseMatcher, PhrasesThatDoNotStartWithALetter) {
  // Found inside words too, and the longest wins a tie across both kinds of phrase.
  const PhraseMatcher matcher({", but I cannot", "?", "but"}, MatchMode::anywhere, false);
  EXPECT_EQ(found(matcher, "Sure, but I cannot."), ", but I cannot");
  EXPECT_EQ(found(matcher, "Why?"), "?");
  EXPECT_EQ(found(matcher, "rebut, but"), "but");  // 'but' in 'rebut' is not a word
  const auto match = matcher.find("a?");
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->offset, 1U);
  const PhraseMatcher prefix({"...", "I"}, MatchMode::prefix, false);
  EXPECT_EQ(found(prefix, "... no"), "...");
  EXPECT_EQ(found(prefix, "I"), "I");
  EXPECT_EQ(found(prefix, "Ice"), "<none>");
  const PhraseMatcher single({"I"}, MatchMode::anywhere, false);
  EXPECT_EQ(found(single, "bIg Ice"), "<none>");
  EXPECT_EQ(found(single, "so I do"), "I");
}

TEST(PhraseMatcher, EveryOccurrenceInALongAnswerIsSeen) {
  std::string answer;
  for (int i = 0; i < 500; ++i) answer += "Here is step " + std::to_string(i) + " of the plan. ";
  const PhraseMatcher matcher({"I cannot", "step 499 of"}, MatchMode::anywhere, false);
  const auto match = matcher.find(answer);
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(matcher.phrase(match->phrase), "step 499 of");
  EXPECT_EQ(answer.substr(match->offset, 11), "step 499 of");
}

TEST(PhraseMatcher, IgnoresEmptyPhrases) {
  const PhraseMatcher matcher({"", "no way"}, MatchMode::anywhere, false);
  EXPECT_EQ(found(matcher, "abc"), "<none>");
  EXPECT_EQ(found(matcher, "No way."), "no way");
}

}  // namespace
}  // namespace medsafe::refusal
