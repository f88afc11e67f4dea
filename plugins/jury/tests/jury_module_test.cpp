// The built libmedsafe_jury.so, loaded as a run loads it: the jurors come from the run's judges.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "fake_judges.hpp"
#include "medsafe/error.hpp"
#include "support/loaded_plugin.hpp"

namespace medsafe {
namespace {

class TwoJudges final : public JudgeDirectory {
 public:
  Judge& judge(std::string_view name, const SourceLocation& where) override {
    if (name == "low") return low;
    if (name == "high") return high;
    throw located_error(ErrorKind::config, where, "no judge '" + std::string(name) + "'");
  }
  testing::FakeJudge low{testing::score_traits(),
                         [](const JudgeInput&) { return testing::make_verdict(2, {}); }};
  testing::FakeJudge high{testing::score_traits(),
                          [](const JudgeInput&) { return testing::make_verdict(4, {}); }};
};

TEST(JuryModule, LoadsAndUsesTheRunsJudges) {
  testing::LoadedPlugin plugin("jury", ComponentKind::judge);
  ASSERT_TRUE(plugin.factory().judge);
  TwoJudges judges;
  const Config config = plugin.config("judges = ['low', 'high']\nrule = 'mean'");
  const auto jury = plugin.factory().judge(plugin.context(config, nullptr, {}, &judges));
  std::optional<Verdict> verdict;
  jury->evaluate(JudgeInput{}, [&verdict](Verdict&& v) { verdict = std::move(v); });
  ASSERT_TRUE(verdict.has_value());
  EXPECT_EQ(verdict->score, 3);
  EXPECT_EQ(verdict->label, "2 judges: 2,4 -> 3; disagreement 1.00 (sd 1.00)");

  const Config missing = plugin.config("judges = ['low', 'nobody']");
  try {
    (void)plugin.factory().judge(plugin.context(missing, nullptr, {}, &judges));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run.toml:1:10: error: no judge 'nobody'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace medsafe
