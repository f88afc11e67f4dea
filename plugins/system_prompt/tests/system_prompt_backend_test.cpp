// The system-prompt wrapper alone: what the inner model is sent, and the answer it hands back.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "medsafe/error.hpp"
#include "medsafe/manifest.hpp"
#include "medsafe/plugin.hpp"
#include "recording_backend.hpp"
#include "system_prompt_backend.hpp"

namespace medsafe::wrappers {
namespace {

const ConfigSchema& schema() {
  static const ConfigSchema s = read_manifest(SYSTEM_PROMPT_MANIFEST).config;
  return s;
}

Config config(std::string_view toml) { return Config::from_toml(toml, schema(), "run.toml"); }

TEST(SystemPrompt, AddsTheSystemMessageFirst) {
  const Request r =
      with_system_prompt(testing::user_request("q"), "be safe", SystemPromptMode::prepend);
  ASSERT_EQ(r.messages.size(), 2U);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[0].content, "be safe");
  EXPECT_EQ(r.messages[1].content, "q");
}

TEST(SystemPrompt, PrependsToOrReplacesTheRequestsOwn) {
  Request own = testing::user_request("q");
  own.messages.insert(own.messages.begin(), Message{"system", "be brief"});
  const Request prepended = with_system_prompt(own, "be safe", SystemPromptMode::prepend);
  ASSERT_EQ(prepended.messages.size(), 2U);
  EXPECT_EQ(prepended.messages[0].content, "be safe\n\nbe brief");
  const Request replaced = with_system_prompt(own, "be safe", SystemPromptMode::replace);
  ASSERT_EQ(replaced.messages.size(), 2U);
  EXPECT_EQ(replaced.messages[0].content, "be safe");
}

TEST(SystemPrompt, SendsTheWrappedRequestAndHandsBackTheAnswerTimedFromItsStart) {
  testing::RecordingBackend inner("inner says");
  SystemPromptBackend backend(config("inner = 'x'\nprompt = 'You follow the AMA principles.'"),
                              inner);
  const TimePoint before = Clock::now();
  std::optional<Response> got;
  backend.submit(testing::user_request("q"), [&got](Response&& r) { got = std::move(r); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text, "inner says");
  EXPECT_GE(got->timing.sent, before);
  ASSERT_EQ(inner.requests.size(), 1U);
  EXPECT_EQ(inner.requests[0].messages[0].content, "You follow the AMA principles.");
  EXPECT_EQ(inner.requests[0].id, "target/msb/1#0");  // the same request, only with the prompt
  EXPECT_EQ(inner.requests[0].item.category, "1");
}

TEST(SystemPrompt, BadSettingsNameTheirKey) {
  testing::RecordingBackend inner;
  try {
    SystemPromptBackend backend(config("inner = 'x'\nprompt = ''"), inner);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("run.toml:2:"), std::string::npos) << message;
    EXPECT_NE(message.find("'prompt' must not be empty"), std::string::npos) << message;
  }
  try {
    SystemPromptBackend backend(config("inner = 'x'\nprompt = 'p'\nmode = 'append'"), inner);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'mode' must be one of prepend, replace"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace medsafe::wrappers
