// The Anthropic Messages API of the simulated server: the JSON answer, the real stream event
// sequence, errors, and the same behaviour model as the OpenAI endpoint.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim_server.hpp"
#include "sim_test_support.hpp"

namespace {

using json = nlohmann::json;
using sim_test::Client;
using sim_test::HttpResponse;
using sim_test::start_server;

constexpr std::string_view kHeaders = "x-api-key: test\r\nanthropic-version: 2023-06-01\r\n";

json messages_body(std::string_view prompt, bool stream, std::int64_t max_tokens = 256) {
  return {{"model", "claude-sim"},
          {"max_tokens", max_tokens},
          {"stream", stream},
          {"messages", {{{"role", "user"}, {"content", std::string(prompt)}}}}};
}

HttpResponse post(Client& client, const json& body) {
  return client.call("POST", "/v1/messages", body.dump(), kHeaders);
}

TEST(SimAnthropic, AnswersWithAMessageObject) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 12");
  Client client(server->port());
  const HttpResponse r = post(client, messages_body("hi there", false));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  const json message = json::parse(r.body);
  EXPECT_TRUE(message["id"].get<std::string>().starts_with("msg_"));
  EXPECT_EQ(message["type"], "message");
  EXPECT_EQ(message["role"], "assistant");
  EXPECT_EQ(message["model"], "claude-sim");
  ASSERT_EQ(message["content"].size(), 1U);
  EXPECT_EQ(message["content"][0]["type"], "text");
  EXPECT_TRUE(message["content"][0]["text"].get<std::string>().starts_with(
      medsafe::sim::kComplianceMarker));
  EXPECT_EQ(message["stop_reason"], "end_turn");
  EXPECT_TRUE(message["stop_sequence"].is_null());
  EXPECT_EQ(message["usage"]["input_tokens"], 2);
  EXPECT_EQ(message["usage"]["output_tokens"], 12);

  const json cut = json::parse(post(client, messages_body("hi", false, 3)).body);
  EXPECT_EQ(cut["stop_reason"], "max_tokens");
  EXPECT_EQ(cut["usage"]["output_tokens"], 3);
  EXPECT_EQ(server->stats().messages, 2U);
  EXPECT_EQ(server->log().at(0).api, "anthropic");
}

TEST(SimAnthropic, StreamsTheRealEventSequence) {
  auto server = start_server("refusal_rate = 0\noutput_tokens = 7\ntokens_per_event = 3");
  Client client(server->port());
  const std::string whole =
      json::parse(post(client, messages_body("q", false)).body)["content"][0]["text"];
  const HttpResponse r = post(client, messages_body("q", true));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), "text/event-stream");
  const auto events = sim_test::sse_events(r.body);
  std::vector<std::string> names;
  std::string text;
  for (const auto& event : events) {
    names.push_back(event.event);
    const json data = json::parse(event.data);
    EXPECT_EQ(data["type"], event.event) << "every event: line names its data's type";
    if (event.event == "content_block_delta") {
      EXPECT_EQ(data["index"], 0);
      EXPECT_EQ(data["delta"]["type"], "text_delta");
      text += data["delta"]["text"].get<std::string>();
    }
  }
  const std::vector<std::string> expected = {
      "message_start",       "content_block_start", "ping",
      "content_block_delta", "content_block_delta", "content_block_delta",
      "content_block_stop",  "message_delta",       "message_stop"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(text, whole);

  const json start = json::parse(events.front().data)["message"];
  EXPECT_EQ(start["role"], "assistant");
  EXPECT_TRUE(start["content"].empty());
  EXPECT_TRUE(start["stop_reason"].is_null());
  EXPECT_EQ(start["usage"]["input_tokens"], 1);
  const json block = json::parse(events[1].data)["content_block"];
  EXPECT_EQ(block, json({{"type", "text"}, {"text", ""}}));
  const json delta = json::parse(events[7].data);
  EXPECT_EQ(delta["delta"]["stop_reason"], "end_turn");
  EXPECT_EQ(delta["usage"]["output_tokens"], 7);
}

TEST(SimAnthropic, AnswersLikeTheOpenAiEndpointForTheSameMessages) {
  auto server = start_server("refusal_rate = 0.5\nseed = 4");
  Client client(server->port());
  for (int i = 0; i < 20; ++i) {
    const std::string prompt = sim_test::numbered("question ", static_cast<std::size_t>(i));
    json anthropic = messages_body(prompt, false, 1000);
    anthropic["system"] = json::array({{{"type", "text"}, {"text", "Be careful."}}});
    anthropic["messages"][0]["content"] = json::array({{{"type", "text"}, {"text", prompt}}});
    const json openai = {{"model", "m"},
                         {"messages",
                          {{{"role", "system"}, {"content", "Be careful."}},
                           {{"role", "user"}, {"content", prompt}}}}};
    const std::string a = json::parse(post(client, anthropic).body)["content"][0]["text"];
    const std::string o = json::parse(client.call("POST", "/v1/chat/completions", openai.dump())
                                          .body)["choices"][0]["message"]["content"];
    EXPECT_EQ(a, o) << prompt;
  }
}

TEST(SimAnthropic, RejectsBadRequestsInItsErrorFormat) {
  auto server = start_server("refusal_rate = 0");
  Client client(server->port());
  const std::vector<std::string> bad = {
      "{not json",
      R"({"model":"m","messages":[{"role":"user","content":"x"}]})",     // no max_tokens
      R"({"max_tokens":5,"messages":[{"role":"user","content":"x"}]})",  // no model
      R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m","max_tokens":5,"messages":[]})",
      R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]})",
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image"}]}]})",
      R"({"model":"m","max_tokens":5,"stream":"yes","messages":[{"role":"user","content":"x"}]})",
  };
  for (const std::string& body : bad) {
    const HttpResponse r = client.call("POST", "/v1/messages", body, kHeaders);
    EXPECT_EQ(r.status, 400) << body;
    const json error = json::parse(r.body);
    EXPECT_EQ(error["type"], "error") << r.body;
    EXPECT_EQ(error["error"]["type"], "invalid_request_error") << r.body;
    EXPECT_TRUE(error["error"]["message"].is_string());
  }
  const HttpResponse wrong_method = client.call("GET", "/v1/messages");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(json::parse(wrong_method.body)["type"], "error");
  EXPECT_EQ(server->log().size(), bad.size());
  EXPECT_EQ(post(client, messages_body("fine", false)).status, 200);
}

TEST(SimAnthropic, PlaysTheRubricJudgeToo) {
  auto server = start_server("judge_parse_failure_rate = 0");
  Client client(server->port());
  const std::string prompt =
      "Rate it.\nModel Response: \"I'm sorry, I can't help.\"\nUse the scoring rules.\n#score:";
  const json r = json::parse(post(client, messages_body(prompt, false)).body);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("#score: 1"), std::string::npos);
}

}  // namespace
