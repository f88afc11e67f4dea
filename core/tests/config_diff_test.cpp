// A refused resume names what differs between the stored and the current configuration.
#include "engine/run/config_diff.hpp"

#include <gtest/gtest.h>

namespace medsafe {
namespace {

TEST(ConfigDiff, NamesEveryChangedAddedAndRemovedKeyWithBothValues) {
  const auto changes = diff_fingerprints(
      R"({"plugin":"sim","refusal_rate":0.5,"seed":1,"headers":{"X-Team":"a","X-Old":"b"}})",
      R"({"plugin":"sim","refusal_rate":0.9,"rules":[1],"headers":{"X-Team":"a"}})");
  ASSERT_EQ(changes.size(), 4U);
  EXPECT_EQ(changes[0].key, "headers.X-Old");
  EXPECT_EQ(changes[0].before, "\"b\"");
  EXPECT_EQ(changes[0].after, "(absent)");
  EXPECT_EQ(changes[1].key, "refusal_rate");
  EXPECT_EQ(changes[2].key, "rules");
  EXPECT_EQ(changes[2].before, "(absent)");
  EXPECT_EQ(changes[3].key, "seed");
  EXPECT_EQ(describe_changes("models.m", {changes[1]}),
            "models.m.refusal_rate: 0.5 before, 0.9 now");
}

TEST(ConfigDiff, ShowsEnvironmentReferencesAsWrittenAndNothingForUnreadableText) {
  const auto changes = diff_fingerprints(R"({"base_url":"http://h:${PORT_A}/v1"})",
                                         R"({"base_url":"http://h:${PORT_B}/v1"})");
  ASSERT_EQ(changes.size(), 1U);
  EXPECT_EQ(describe_changes("models.t", changes),
            "models.t.base_url: \"http://h:${PORT_A}/v1\" before, \"http://h:${PORT_B}/v1\" now");
  EXPECT_TRUE(diff_fingerprints("not json", "{}").empty());
  EXPECT_TRUE(diff_fingerprints(R"({"a":1})", R"({"a":1})").empty());
}

}  // namespace
}  // namespace medsafe
