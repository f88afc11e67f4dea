#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/store/rows.hpp"

namespace medsafe {
namespace {

// Token stamps are kept as variable-length differences: every value comes back exactly, in
// order, whatever its size or the direction of the step.
TEST(TokenEvents, EveryStampComesBackExactly) {
  const std::vector<std::vector<std::int64_t>> cases = {
      {},
      {1'200'000},
      {1'200'000, 1'250'000, 1'250'000, 1'250'001},
      {5, 3, -7, 0, 1LL << 40},
      {std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min(), 0},
  };
  for (const auto& values : cases) {
    TokenEvents events;
    for (const std::int64_t v : values) events.push_back(v);
    EXPECT_EQ(events.to_vector(), values);
    EXPECT_EQ(events.size(), values.size());
    EXPECT_EQ(events.empty(), values.empty());
    if (!values.empty()) {
      EXPECT_EQ(events.front(), values.front());
      EXPECT_EQ(events.back(), values.back());
    }
  }
  const TokenEvents listed = {1'700'000'000'000'000'000, 1'700'000'000'012'345'678};
  EXPECT_EQ(listed.to_vector(),
            (std::vector<std::int64_t>{1'700'000'000'000'000'000, 1'700'000'000'012'345'678}));
  EXPECT_EQ(listed, (TokenEvents{1'700'000'000'000'000'000, 1'700'000'000'012'345'678}));
  EXPECT_FALSE(listed == TokenEvents{});
}

// Names are interned: equal values share one copy, so a row member is a pointer, and they
// read, compare and join like the strings they name.
TEST(Name, EqualValuesShareOneCopyAndReadAsStrings) {
  const std::string built = std::string("synth") + "etic";
  const Name a = built;
  const Name b = std::string_view("synthetic");
  const Name c = "other";
  EXPECT_EQ(a.data(), b.data());  // one copy
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a, "synthetic");
  EXPECT_EQ(a, std::string("synthetic"));
  EXPECT_EQ(std::string_view("synthetic"), a);
  EXPECT_LT(c, a);
  EXPECT_LT(a, "z");
  EXPECT_EQ(a + "/" + c, "synthetic/other");
  EXPECT_EQ(std::string("x") + a, "xsynthetic");
  const std::string& as_string = a;
  EXPECT_EQ(as_string, "synthetic");
  EXPECT_EQ(static_cast<std::string_view>(a).size(), 9U);
  const Name empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty, Name(""));
  EXPECT_EQ(empty.str(), "");
  EXPECT_EQ(sizeof(Name), sizeof(void*));
}

// A TextField owns its string, allocates nothing when empty, and copies deeply.
TEST(TextField, OwnsItsStringAndIsOnePointerWhenEmpty) {
  TextField empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.size(), 0U);
  EXPECT_EQ(empty, "");
  EXPECT_STREQ(empty.c_str(), "");
  EXPECT_EQ(sizeof(TextField), sizeof(void*));
  std::string source = "an answer longer than a short string buffer";
  TextField text = source;
  source.assign("changed");
  EXPECT_EQ(text, "an answer longer than a short string buffer");
  TextField copy = text;
  EXPECT_NE(copy.data(), text.data());  // deep
  EXPECT_EQ(copy, text);
  TextField moved = std::move(copy);
  EXPECT_EQ(moved, text);
  text = std::string();
  EXPECT_TRUE(text.empty());
  EXPECT_EQ(std::string("[") + moved + "]", "[an answer longer than a short string buffer]");
  const std::string& as_string = moved;
  EXPECT_EQ(as_string.size(), 43U);
}

// The rows a million-item report holds: each byte here is a megabyte there. Their repeated
// names are Names and the texts a deferred read leaves empty TextFields (was 232, 416, 280 B).
TEST(RunDataRows, StaySmall) {
  EXPECT_LE(sizeof(ItemRow), 88U);
  EXPECT_LE(sizeof(ResponseRow), 248U);
  EXPECT_LE(sizeof(VerdictRow), 136U);
}

}  // namespace
}  // namespace medsafe
