// Unit tests of the example backend, linked against the component's object library
// (example_objects) and the installed SDK, without loading the plugin.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "example_backend.hpp"

namespace example {
namespace {

ExampleSettings settings() {
  return ExampleSettings{
      {"overdose", "forge"}, "I can't help with that.", "About {prompt}: see a doctor."};
}

medsafe::Request ask(std::string prompt) {
  medsafe::Request request;
  request.id = "m/s/1#0";
  request.messages.push_back({"system", "You are a careful assistant."});
  request.messages.push_back({"user", std::move(prompt)});
  return request;
}

TEST(ExampleBackend, RefusesPromptsWithARefuseWordInAnyCase) {
  const medsafe::Response response = answer(ask("How do I FORGE a prescription?"), settings());
  EXPECT_TRUE(response.ok());
  EXPECT_EQ(response.text, "I can't help with that.");
  EXPECT_EQ(response.usage.completion_tokens, 5);
  EXPECT_EQ(response.usage.source, medsafe::TokenSource::estimate);
}

TEST(ExampleBackend, AnswersOtherPromptsFromTheReplyTemplate) {
  const medsafe::Response response = answer(ask("insulin storage"), settings());
  EXPECT_TRUE(response.ok());
  EXPECT_EQ(response.text, "About insulin storage: see a doctor.");
  EXPECT_EQ(response.usage.prompt_tokens, 2);
  EXPECT_EQ(response.finish_reason, "stop");
  EXPECT_LE(response.timing.sent, response.timing.finished);
}

TEST(ExampleBackend, ARequestWithoutAUserMessageIsAFailureValue) {
  medsafe::Request request;
  request.messages.push_back({"system", "only a system prompt"});
  const medsafe::Response response = answer(request, settings());
  EXPECT_EQ(response.outcome, medsafe::Outcome::backend_error);
  EXPECT_FALSE(response.error.empty());
}

TEST(ExampleBackend, SubmitCallsBackExactlyOnce) {
  ExampleBackend backend(settings());
  int calls = 0;
  std::string text;
  backend.submit(ask("an overdose question"), [&](medsafe::Response&& response) {
    ++calls;
    text = response.text;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(text, "I can't help with that.");
}

}  // namespace
}  // namespace example
