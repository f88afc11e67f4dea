// The SDK's text helpers: trimming and ASCII case, shared by the core and the plugins.
#include "medsafe/text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace medsafe {
namespace {

TEST(Text, TrimTakesBlanksOffBothEnds) {
  EXPECT_EQ(trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(trim("\n\tx"), "x");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t\r\n"), "");
  // Only space, tab, CR and LF by default; form feed and vertical tab with kAsciiSpace.
  EXPECT_EQ(trim("\fx\v"), "\fx\v");
  EXPECT_EQ(trim("\f x \v", kAsciiSpace), "x");
}

TEST(Text, TrimTakesTheCharactersItIsGiven) {
  EXPECT_EQ(trim(" \tvalue\t ", " \t"), "value");
  EXPECT_EQ(trim("\nvalue\n", " \t"), "\nvalue\n");
  EXPECT_EQ(trim("**4**", "*"), "4");
  EXPECT_EQ(trim_front("  a  "), "a  ");
  EXPECT_EQ(trim_back("  a  "), "  a");
  EXPECT_EQ(trim_back(trim_front(" \tv\r\n", " \t"), kBlanks), "v");
  EXPECT_EQ(trim_front("   "), "");
  EXPECT_EQ(trim_back("   "), "");
}

TEST(Text, TrimReturnsAViewIntoItsArgument) {
  const std::string text = "  inner  ";
  const std::string_view trimmed = trim(text);
  EXPECT_EQ(trimmed.data(), text.data() + 2);
  EXPECT_EQ(trimmed.size(), 5u);
}

TEST(Text, AsciiSpaceIsTheCLocalesSpace) {
  for (const char c : std::string_view(" \t\r\n\f\v")) EXPECT_TRUE(is_ascii_space(c)) << int(c);
  EXPECT_FALSE(is_ascii_space('a'));
  EXPECT_FALSE(is_ascii_space('\0'));
  EXPECT_FALSE(is_ascii_space('\xA0'));  // a UTF-8 continuation byte, not a space
}

TEST(Text, LowerChangesOnlyAsciiCapitals) {
  EXPECT_EQ(ascii_lower('A'), 'a');
  EXPECT_EQ(ascii_lower('Z'), 'z');
  EXPECT_EQ(ascii_lower('a'), 'a');
  EXPECT_EQ(ascii_lower('@'), '@');
  EXPECT_EQ(ascii_lower('['), '[');
  EXPECT_EQ(ascii_lower("Content-Type: X"), "content-type: x");
  // UTF-8 passes unchanged: "É" (C3 89) stays as it is.
  EXPECT_EQ(ascii_lower("CAF\xC3\x89"), "caf\xC3\x89");
  EXPECT_EQ(ascii_lower(std::string_view()), "");
}

TEST(Text, IequalsIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("abc", "abcd"));
  EXPECT_FALSE(iequals("abc", "abd"));
  EXPECT_FALSE(iequals("\xC3\x89", "\xC3\xA9"));  // É and é: not ASCII
  static_assert(iequals("GMT", "gmt"));
}

}  // namespace
}  // namespace medsafe
