// Reading the answer text out of a JSON body that was cut anywhere (json_strings_at), and
// cutting text at a UTF-8 boundary (utf8_prefix_length).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "medsafe/json_text.hpp"

namespace medsafe {
namespace {

const std::vector<std::string_view> kOpenAi = {"choices", "0", "message", "content"};

TEST(Utf8PrefixLength, NeverEndsInsideACharacter) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  EXPECT_EQ(utf8_prefix_length(text, 100), text.size());
  EXPECT_EQ(utf8_prefix_length(text, 1), 1u);
  EXPECT_EQ(utf8_prefix_length(text, 2), 1u);  // inside é
  EXPECT_EQ(utf8_prefix_length(text, 3), 3u);
  EXPECT_EQ(utf8_prefix_length(text, 4), 3u);  // inside €
  EXPECT_EQ(utf8_prefix_length(text, 5), 3u);
  EXPECT_EQ(utf8_prefix_length(text, 6), 6u);
  EXPECT_EQ(utf8_prefix_length(text, 9), 6u);  // inside 😀
  EXPECT_EQ(utf8_prefix_length(text, 0), 0u);
  // Invalid bytes count one by one: a cut after a stray continuation byte stands.
  EXPECT_EQ(utf8_prefix_length("\x80\x80\x80\x80\x80", 3), 3u);
}

TEST(JsonStringsAt, ReadsAWholeBody) {
  const JsonStrings s = json_strings_at(
      R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"No."}}]})",
      kOpenAi, 100);
  EXPECT_EQ(s.text, "No.");
  EXPECT_EQ(s.found, 1u);
  EXPECT_TRUE(s.complete);
}

TEST(JsonStringsAt, ReadsTheBeginningOfABodyCutInsideTheAnswer) {
  const std::string body =
      R"({"choices":[{"message":{"content":"Step one: mix \"A\" and \u00e9\nthen B)";
  const JsonStrings s = json_strings_at(body, kOpenAi, 1000);
  EXPECT_EQ(s.text, "Step one: mix \"A\" and \xC3\xA9\nthen B");
  EXPECT_EQ(s.found, 1u);
  EXPECT_FALSE(s.complete);
  // A cut inside an escape drops the half escape.
  const JsonStrings half =
      json_strings_at(R"({"choices":[{"message":{"content":"ab\u00)", kOpenAi, 1000);
  EXPECT_EQ(half.text, "ab");
  EXPECT_FALSE(half.complete);
}

TEST(JsonStringsAt, KeepsAtMostMaxBytesAtACharacterBoundary) {
  const std::string body = "{\"choices\":[{\"message\":{\"content\":\"" + std::string(10, 'x') +
                           "\xE2\x82\xAC" + "tail\"}}]}";
  const JsonStrings s = json_strings_at(body, kOpenAi, 12);
  EXPECT_EQ(s.text, std::string(10, 'x'));  // the euro sign would not fit whole
  EXPECT_FALSE(s.complete);
}

TEST(JsonStringsAt, FollowsOnlyThePathAndSkipsEverythingElse) {
  const std::string body =
      R"({"message":{"content":"decoy"},"choices":[{"message":{"content":"first"}},)"
      R"({"message":{"content":"second"}}],"usage":{"x":[1,2.5e3,true,null,{"content":"no"}]})";
  EXPECT_EQ(json_strings_at(body, kOpenAi, 100).text, "first");
  EXPECT_EQ(json_strings_at(body, {"choices", "1", "message", "content"}, 100).text, "second");
  const JsonStrings all = json_strings_at(body, {"choices", "*", "message", "content"}, 100);
  EXPECT_EQ(all.text, "firstsecond");
  EXPECT_EQ(all.found, 2u);
  EXPECT_EQ(json_strings_at(body, {"missing"}, 100).found, 0u);
}

TEST(JsonStringsAt, JoinsAnthropicTextBlocks) {
  const std::string body =
      R"({"content":[{"type":"text","text":"Part one. "},{"type":"thinking","thinking":"hm"},)"
      R"({"type":"text","text":"Part two, cut)";
  const JsonStrings s = json_strings_at(body, {"content", "*", "text"}, 1000);
  EXPECT_EQ(s.text, "Part one. Part two, cut");
  EXPECT_EQ(s.found, 2u);
  EXPECT_FALSE(s.complete);
}

TEST(JsonStringsAt, SurrogatePairsAndLoneSurrogates) {
  EXPECT_EQ(json_strings_at(R"({"t":"\ud83d\ude00"})", {"t"}, 100).text, "\xF0\x9F\x98\x80");
  EXPECT_EQ(json_strings_at(R"({"t":"\ud83dx"})", {"t"}, 100).text, "\xEF\xBF\xBDx");
  EXPECT_EQ(json_strings_at(R"({"t":"\ude00"})", {"t"}, 100).text, "\xEF\xBF\xBD");
}

TEST(JsonStringsAt, StopsQuietlyOnWhatIsNotJson) {
  for (const char* text : {"", "garbage", "<html>", "{\"t\" 1}", "[[[[", "{\"t\":\"\\q\"}"}) {
    const JsonStrings s = json_strings_at(text, {"t"}, 100);
    EXPECT_EQ(s.found, text == std::string("{\"t\":\"\\q\"}") ? 1u : 0u) << text;
  }
  // Nesting deeper than any envelope stops instead of recursing without end.
  const std::string deep = std::string(100'000, '[');
  EXPECT_EQ(json_strings_at(deep, {"t"}, 100).found, 0u);
}

}  // namespace
}  // namespace medsafe
