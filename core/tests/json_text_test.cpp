// JSON string literals: one escaper for request bodies, fingerprints and the simulated server.
#include "medsafe/json_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "medsafe/config.hpp"

namespace medsafe {
namespace {

std::string literal(std::string_view text, InvalidUtf8 invalid = InvalidUtf8::keep) {
  std::string out = "<";
  append_json_string(out, text, invalid);
  return out;
}

TEST(JsonText, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(literal(""), "<\"\"");
  EXPECT_EQ(literal("plain text"), "<\"plain text\"");
  EXPECT_EQ(literal("a\"b\\c"), "<\"a\\\"b\\\\c\"");
  EXPECT_EQ(literal("n\nr\rt\t"), "<\"n\\nr\\rt\\t\"");
  EXPECT_EQ(literal(std::string_view("\x00\x01\x1f\x7f", 4)), "<\"\\u0000\\u0001\\u001f\x7f\"");
}

TEST(JsonText, EscapedIsTheLiteralWithoutItsQuotes) {
  EXPECT_EQ(json_escaped(""), "");
  EXPECT_EQ(json_escaped("a\"b\\c\nd\x01"), "a\\\"b\\\\c\\nd\\u0001");
  EXPECT_EQ(json_escaped("caf\xC3\xA9 \xFF"), "caf\xC3\xA9 \xFF");
  EXPECT_EQ(json_escaped("\xFF", InvalidUtf8::replace), "\xEF\xBF\xBD");
}

TEST(JsonText, KeepsOrReplacesInvalidUtf8AsAsked) {
  const std::string_view text = "caf\xC3\xA9 \xFF \xE2\x82\xAC \xC0\xAF \xED\xA0\x80 \xE2\x82";
  EXPECT_EQ(literal(text), std::string("<\"") + std::string(text) + "\"");
  EXPECT_EQ(literal(text, InvalidUtf8::replace),
            "<\"caf\xC3\xA9 \xEF\xBF\xBD \xE2\x82\xAC \xEF\xBF\xBD\xEF\xBF\xBD "
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(JsonText, Utf8SequenceLengthRefusesOverlongsSurrogatesAndCutSequences) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1U);
  EXPECT_EQ(utf8_sequence_length("\xC3\xA9", 0), 2U);
  EXPECT_EQ(utf8_sequence_length("\xE2\x82\xAC", 0), 3U);
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x98\x80", 0), 4U);
  EXPECT_EQ(utf8_sequence_length("\xC0\xAF", 0), 0U);          // overlong '/'
  EXPECT_EQ(utf8_sequence_length("\xED\xA0\x80", 0), 0U);      // a UTF-16 surrogate
  EXPECT_EQ(utf8_sequence_length("\xF4\x90\x80\x80", 0), 0U);  // beyond U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xE2\x82", 0), 0U);          // cut short
}

TEST(JsonText, ConfigurationFingerprintsKeepTheirBytes) {
  // Stored runs compare these texts on resume: the bytes were pinned before the escaper moved
  // here from config.cpp, and must not change.
  const toml::table table = toml::parse(R"(k = "q\" b\\ n\n r\r t\t a\u0001 d\u007F e\u00e9 z\u001f"
"odd\"key" = [1, 2.5, true, "x"]
)");
  EXPECT_EQ(toml_to_json(table),
            "{\"k\":\"q\\\" b\\\\ n\\n r\\r t\\t a\\u0001 d\x7f e\xC3\xA9 z\\u001f\","
            "\"odd\\\"key\":[1,2.5,true,\"x\"]}");
}

}  // namespace
}  // namespace medsafe
