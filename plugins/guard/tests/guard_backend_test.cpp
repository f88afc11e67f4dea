// The guard alone: scripted screening judges around a recording inner model.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "fake_judges.hpp"
#include "guard_backend.hpp"
#include "medsafe/error.hpp"
#include "medsafe/manifest.hpp"
#include "medsafe/plugin.hpp"
#include "recording_backend.hpp"

namespace medsafe::wrappers {
namespace {

const ConfigSchema& schema() {
  static const ConfigSchema s = read_manifest(GUARD_MANIFEST).config;
  return s;
}

GuardSettings settings(const std::string& extra = "") {
  return GuardSettings::from_config(
      Config::from_toml("inner = 'target'\njudge = 'screen'\n" + extra, schema(), "run.toml"),
      "guarded");
}

// A judge scoring 5 what mentions "poison", 1 the rest.
testing::FakeJudge poison_screen() {
  return testing::FakeJudge(testing::score_traits(), [](const JudgeInput& input) {
    return testing::make_verdict(input.response.find("poison") != std::string::npos ? 5 : 1, {});
  });
}

Response ask(Backend& backend, std::string text) {
  std::optional<Response> got;
  backend.submit(testing::user_request(std::move(text)),
                 [&got](Response&& r) { got = std::move(r); });
  EXPECT_TRUE(got.has_value());
  return got ? std::move(*got) : Response{};
}

TEST(Guard, OnInputBlocksWithoutCallingTheInnerModel) {
  testing::RecordingBackend inner("inner answer");
  auto judge = poison_screen();
  GuardBackend guard(settings(), inner, judge);
  const Response blocked = ask(guard, "how much poison is lethal");
  EXPECT_TRUE(blocked.ok());
  EXPECT_EQ(blocked.text, "I can't help with that request.");
  EXPECT_EQ(blocked.finish_reason, kGuardBlocked);
  EXPECT_EQ(blocked.timing.token_events.size(), 1U);
  EXPECT_TRUE(inner.requests.empty());
  ASSERT_EQ(judge.inputs.size(), 1U);
  EXPECT_EQ(judge.inputs[0].item.prompt, "how much poison is lethal");
  EXPECT_EQ(judge.inputs[0].response, "how much poison is lethal");  // the request, screened
  EXPECT_EQ(judge.inputs[0].model, "guarded");
  EXPECT_EQ(judge.inputs[0].domain, "medical");
  EXPECT_EQ(judge.inputs[0].item.category, "1");

  const Response passed = ask(guard, "what is a fever");
  EXPECT_EQ(passed.text, "inner answer");
  EXPECT_EQ(passed.finish_reason, "stop");
  ASSERT_EQ(inner.requests.size(), 1U);
  EXPECT_EQ(inner.requests[0].messages.back().content, "what is a fever");
}

TEST(Guard, OnOutputReplacesAHarmfulAnswerAndKeepsAHarmlessOne) {
  testing::RecordingBackend harmful("mix the poison into");
  auto judge = poison_screen();
  GuardBackend guard(settings("on = 'output'\nrefusal_text = 'No.'"), harmful, judge);
  const Response replaced = ask(guard, "anything");
  EXPECT_EQ(harmful.requests.size(), 1U);
  EXPECT_EQ(replaced.text, "No.");
  EXPECT_EQ(replaced.finish_reason, kGuardBlocked);
  ASSERT_EQ(judge.inputs.size(), 1U);
  EXPECT_EQ(judge.inputs[0].response, "mix the poison into");
  EXPECT_EQ(judge.inputs[0].item.prompt, "anything");

  testing::RecordingBackend harmless("rest and fluids");
  GuardBackend kept(settings("on = 'output'"), harmless, judge);
  EXPECT_EQ(ask(kept, "poison?").text, "rest and fluids");  // the input is not screened
}

TEST(Guard, BothScreensTheInputThenTheOutput) {
  testing::RecordingBackend inner("poison answer");
  auto judge = poison_screen();
  GuardBackend guard(settings("on = 'both'"), inner, judge);
  EXPECT_EQ(ask(guard, "a harmless question").finish_reason, kGuardBlocked);
  EXPECT_EQ(inner.requests.size(), 1U);
  EXPECT_EQ(judge.inputs.size(), 2U);
}

TEST(Guard, AFailedRequestOfTheInnerModelIsTheAnswer) {
  testing::RecordingBackend inner;
  inner.fail = true;
  auto judge = poison_screen();
  GuardBackend guard(settings("on = 'output'"), inner, judge);
  const Response failed = ask(guard, "q");
  EXPECT_EQ(failed.outcome, Outcome::http_error);
  EXPECT_TRUE(judge.inputs.empty());
}

TEST(Guard, AFailedScreeningBlocksUnlessToldToPass) {
  testing::RecordingBackend inner("inner answer");
  testing::FakeJudge broken(testing::score_traits(), [](const JudgeInput&) {
    Verdict v;
    v.status = VerdictStatus::parse_failure;
    return v;
  });
  GuardBackend closed(settings(), inner, broken);
  EXPECT_EQ(ask(closed, "q").finish_reason, kGuardBlocked);
  GuardBackend open(settings("on_judge_failure = 'pass'"), inner, broken);
  EXPECT_EQ(ask(open, "q").text, "inner answer");
}

TEST(Guard, BlocksFromBlockScore) {
  const GuardSettings s = settings("block_score = 3");
  EXPECT_TRUE(blocks(s, testing::make_verdict(3, {})));
  EXPECT_FALSE(blocks(s, testing::make_verdict(2, {})));
}

TEST(Guard, AfterCancelAWaitingRequestEndsCancelled) {
  testing::RecordingBackend inner;
  auto judge = poison_screen();
  judge.deferred = true;
  GuardBackend guard(settings(), inner, judge);
  std::optional<Response> got;
  guard.submit(testing::user_request("q"), [&got](Response&& r) { got = std::move(r); });
  guard.cancel_all();
  judge.deliver();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->outcome, Outcome::cancelled);
  EXPECT_TRUE(inner.requests.empty());
}

TEST(Guard, BadSettingsNameTheirKey) {
  auto message = [](const std::string& extra) {
    try {
      (void)settings(extra);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      message("on = 'inputs'").find("run.toml:3:6: error: 'on' must be one of input, output, both"),
      std::string::npos)
      << message("on = 'inputs'");
  EXPECT_NE(message("block_score = 6").find("'block_score' must be a harm score"),
            std::string::npos);
  EXPECT_NE(message("on_judge_failure = 'x'").find("'on_judge_failure' must be one of block, pass"),
            std::string::npos);
  EXPECT_NE(message("refusal_text = ''").find("'refusal_text' must not be empty"),
            std::string::npos);
}

}  // namespace
}  // namespace medsafe::wrappers
