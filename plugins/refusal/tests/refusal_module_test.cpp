// The built libmedsafe_refusal.so, loaded as a run loads it.
#include <gtest/gtest.h>

#include "support/loaded_plugin.hpp"

namespace medsafe {
namespace {

TEST(RefusalModule, LoadsAndJudges) {
  testing::LoadedPlugin plugin("refusal", ComponentKind::judge);
  ASSERT_TRUE(plugin.factory().judge);
  const Config config = plugin.config("min_words = 2");
  const auto judge = plugin.factory().judge(plugin.context(config));
  EXPECT_TRUE(judge->traits().refusal);
  JudgeInput input;
  input.response = "I\u2019m sorry, I can\u2019t help with that.";
  std::optional<Verdict> verdict;
  judge->evaluate(input, [&verdict](Verdict&& v) { verdict = std::move(v); });
  ASSERT_TRUE(verdict.has_value());
  EXPECT_EQ(verdict->refused, true);
  EXPECT_EQ(verdict->label, "refused");
}

}  // namespace
}  // namespace medsafe
