// The Messages wire format without I/O: request bodies, each stream event type, bodies, and
// the assembler fed exact event sequences.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "anthropic_protocol.hpp"
#include "anthropic_response.hpp"

namespace medsafe::anthropic {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

Request user_request(std::string prompt) {
  Request request;
  request.id = "m/s/1#0";
  request.messages = {{"user", std::move(prompt)}};
  return request;
}

BodySettings settings() {
  BodySettings s;
  s.model = "claude-test";
  return s;
}

TEST(AnthropicBody, HasTheRequiredFieldsAndNoSeed) {
  Request request = user_request("How much is too much?");
  request.seed = 7;
  const json body = json::parse(build_request_body(request, settings()));
  EXPECT_EQ(body["model"], "claude-test");
  EXPECT_EQ(body["max_tokens"], 1024);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["temperature"], 0.0);
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_EQ(body["messages"][0]["content"], "How much is too much?");
  EXPECT_FALSE(body.contains("seed")) << "the Messages API has no sampling seed";
  EXPECT_FALSE(body.contains("system"));
  EXPECT_FALSE(body.contains("top_p"));
  EXPECT_FALSE(body.contains("ignore_eos"));
  EXPECT_FALSE(body.contains("stream_options"));
}

TEST(AnthropicBody, MovesSystemMessagesToTheTopLevel) {
  Request request = user_request("q");
  request.messages.insert(request.messages.begin(), {"system", "Be brief."});
  request.messages.push_back({"assistant", "a"});
  request.messages.push_back({"system", "Cite sources."});
  BodySettings s = settings();
  s.system_prompt = "configured, but the request has its own";
  const json body = json::parse(build_request_body(request, s));
  EXPECT_EQ(body["system"], "Be brief.\n\nCite sources.");
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_EQ(body["messages"][1]["role"], "assistant");

  const json fallback = json::parse(build_request_body(user_request("q"), s));
  EXPECT_EQ(fallback["system"], "configured, but the request has its own");
}

TEST(AnthropicBody, RequestValuesOverrideSettings) {
  Request request = user_request("q");
  request.temperature = 0.5;
  request.max_tokens = 16;
  request.load.ignore_eos = true;
  BodySettings s = settings();
  s.stream = false;
  s.top_p = 0.9;
  s.temperature = 1.0;
  const json body = json::parse(build_request_body(request, s));
  EXPECT_EQ(body["temperature"], 0.5);
  EXPECT_EQ(body["max_tokens"], 16);
  EXPECT_EQ(body["stream"], false);
  EXPECT_EQ(body["top_p"], 0.9);
  EXPECT_EQ(body["ignore_eos"], true);

  request.max_tokens = 0;  // not a valid value for the API: the configured one is sent
  EXPECT_EQ(json::parse(build_request_body(request, s))["max_tokens"], 1024);
}

TEST(AnthropicBody, MergesExtraBodyAndReplacesInvalidUtf8) {
  BodySettings s = settings();
  s.extra_body =
      json::parse(R"({"top_k": 40, "metadata": {"user_id": "u1"}, "temperature": null})");
  const json body = json::parse(build_request_body(user_request("bad \xff byte \"q\"\n"), s));
  EXPECT_EQ(body["top_k"], 40);
  EXPECT_EQ(body["metadata"]["user_id"], "u1");
  EXPECT_FALSE(body.contains("temperature")) << "a JSON merge patch removes null members";
  EXPECT_EQ(body["messages"][0]["content"], "bad \xEF\xBF\xBD byte \"q\"\n");
}

// ---- stream events ----

TEST(AnthropicEvents, MessageStartGivesInputTokensButNotItsPlaceholderOutput) {
  const Decoded d = decode_event(
      "message_start",
      R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",
          "content":[],"model":"m","stop_reason":null,"usage":{"input_tokens":25,
          "cache_read_input_tokens":100,"output_tokens":1}}})");
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.kind, EventKind::message_start);
  EXPECT_EQ(d.input_tokens, 125);
  EXPECT_EQ(d.output_tokens, -1);
  EXPECT_FALSE(d.token_bearing);
}

TEST(AnthropicEvents, TextAndThinkingDeltasBearTokens) {
  const Decoded text = decode_event(
      "content_block_delta",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}})");
  EXPECT_EQ(text.kind, EventKind::content_block_delta);
  EXPECT_EQ(text.text, "Hel");
  EXPECT_TRUE(text.token_bearing);

  const Decoded thinking = decode_event(
      "content_block_delta",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me"}})");
  EXPECT_TRUE(thinking.token_bearing);
  EXPECT_EQ(thinking.text, "") << "thinking is not part of the answer";

  const Decoded tool = decode_event(
      "content_block_delta",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}})");
  EXPECT_TRUE(tool.token_bearing);

  for (
      const char* data :
      {R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQ"}})",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}})",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"future_delta","x":1}})"}) {
    const Decoded d = decode_event("content_block_delta", data);
    EXPECT_EQ(d.status, DecodeStatus::ok) << data;
    EXPECT_FALSE(d.token_bearing) << data;
  }
}

TEST(AnthropicEvents, MessageDeltaGivesStopReasonAndOutputTokens) {
  const Decoded d = decode_event(
      "message_delta",
      R"({"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":15}})");
  EXPECT_EQ(d.kind, EventKind::message_delta);
  EXPECT_EQ(d.stop_reason, "max_tokens");
  EXPECT_EQ(d.output_tokens, 15);
  EXPECT_EQ(d.input_tokens, -1);
}

TEST(AnthropicEvents, AnErrorEventIsAnErrorObjectWithItsTypeAndMessage) {
  const Decoded d = decode_event(
      "error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_EQ(d.status, DecodeStatus::error_object);
  EXPECT_EQ(d.kind, EventKind::error);
  EXPECT_EQ(d.message, "overloaded_error: Overloaded");
}

TEST(AnthropicEvents, TheDataTypeDecidesWhenTheEventLineIsMissing) {
  EXPECT_EQ(decode_event("", R"({"type":"message_stop"})").kind, EventKind::message_stop);
  EXPECT_EQ(decode_event("", R"({"type":"ping"})").kind, EventKind::ping);
  const Decoded unknown = decode_event("future_event", R"({"type":"future_event","x":[1]})");
  EXPECT_EQ(unknown.status, DecodeStatus::ok) << "unknown events are ignored, not failures";
  EXPECT_EQ(unknown.kind, EventKind::other);
}

TEST(AnthropicEvents, MalformedEventsSayWhatIsWrong) {
  struct Case {
    const char* type;
    const char* data;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"content_block_delta", R"({"delta": )", "not valid JSON"},
      {"ping", "[1]", "not a JSON object"},
      {"content_block_delta", R"({"delta":"x"})", "delta is not an object"},
      {"content_block_delta", R"({"delta":{"type":"text_delta","text":7}})",
       "text is not a string"},
      {"message_delta", R"({"delta":{},"usage":{"output_tokens":-2}})", "non-negative integer"},
      {"message_start", R"({"type":"message_start"})", "has no message"},
  };
  for (const Case& c : cases) {
    const Decoded d = decode_event(c.type, c.data);
    EXPECT_EQ(d.status, DecodeStatus::malformed) << c.data;
    EXPECT_NE(d.message.find(c.expected), std::string::npos) << c.data << " -> " << d.message;
    EXPECT_TRUE(d.text.empty());
  }
}

// ---- non-streaming bodies ----

TEST(AnthropicBodyDecode, JoinsTextBlocksAndReadsUsage) {
  const Decoded d = decode_message(
      R"({"id":"msg_1","type":"message","role":"assistant","model":"m",
          "content":[{"type":"thinking","thinking":"hmm","signature":"s"},
                     {"type":"text","text":"I can't "},{"type":"text","text":"help."}],
          "stop_reason":"end_turn","stop_sequence":null,
          "usage":{"input_tokens":9,"cache_creation_input_tokens":3,"output_tokens":4}})");
  EXPECT_EQ(d.status, DecodeStatus::ok) << d.message;
  EXPECT_EQ(d.text, "I can't help.");
  EXPECT_EQ(d.stop_reason, "end_turn");
  EXPECT_EQ(d.input_tokens, 12);
  EXPECT_EQ(d.output_tokens, 4);
}

TEST(AnthropicBodyDecode, ErrorsAndMalformedBodies) {
  const Decoded error =
      decode_message(R"({"type":"error","error":{"type":"api_error","message":"Internal"}})");
  EXPECT_EQ(error.status, DecodeStatus::error_object);
  EXPECT_EQ(error.message, "api_error: Internal");
  for (const char* body : {"{", R"({"type":"message"})", R"({"content":{}})", R"({"content":[7]})",
                           R"({"content":[{"type":"text","text":1}]})"}) {
    EXPECT_EQ(decode_message(body).status, DecodeStatus::malformed) << body;
  }
}

TEST(AnthropicStopReason, SpeaksTheRestOfMedsafesVocabulary) {
  EXPECT_EQ(finish_reason_of("end_turn"), "stop");
  EXPECT_EQ(finish_reason_of("stop_sequence"), "stop");
  EXPECT_EQ(finish_reason_of("max_tokens"), "length");
  EXPECT_EQ(finish_reason_of("tool_use"), "tool_calls");
  EXPECT_EQ(finish_reason_of("refusal"), "refusal");
  EXPECT_EQ(finish_reason_of(""), "");
}

// ---- the assembler ----

struct Scripted {
  std::string type;
  std::string data;
};

const std::vector<Scripted> kStream = {
    {"message_start",
     R"({"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"x","stop_reason":null,"usage":{"input_tokens":5,"output_tokens":1}}})"},
    {"content_block_start",
     R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"},
    {"ping", R"({"type":"ping"})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I can"}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"not."}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
    {"message_delta",
     R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}})"},
    {"message_stop", R"({"type":"message_stop"})"},
};

// Feeds `events` one millisecond apart, then ends the exchange as `ending` says.
Response assemble(const std::vector<Scripted>& events, HttpResult ending = {}) {
  const TimePoint start = Clock::now();
  ResponseAssembler assembler("", TimePoint{});
  TimePoint at = start;
  for (const Scripted& e : events) {
    at += 1ms;
    assembler.on_event(SseEvent{e.type, e.data, {}, at});
  }
  if (ending.status == 0 && ending.outcome == Outcome::ok) ending.status = 200;
  ending.sse = true;
  ending.sent = start;
  ending.finished = at + 1ms;
  return assembler.finish(std::move(ending));
}

TEST(AnthropicAssembler, AssemblesTheRealEventSequence) {
  const Response r = assemble(kStream);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.text, "I cannot.");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.usage.prompt_tokens, 5);
  EXPECT_EQ(r.usage.completion_tokens, 3);
  EXPECT_EQ(r.usage.source, TokenSource::usage);
  ASSERT_EQ(r.timing.token_events.size(), 2u) << "only the two text deltas bear tokens";
  EXPECT_EQ(r.timing.token_events[1] - r.timing.token_events[0], 1ms);
}

TEST(AnthropicAssembler, AStreamWithoutMessageStopFails) {
  const std::vector<Scripted> cut(kStream.begin(), kStream.begin() + 4);
  const Response r = assemble(cut);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error, "stream ended after 4 events without message_stop");
  EXPECT_EQ(r.text, "I can");
  EXPECT_EQ(r.usage.source, TokenSource::events);
  EXPECT_EQ(r.usage.completion_tokens, 1);
}

TEST(AnthropicAssembler, AnErrorEventFailsTheStreamAndKeepsTheText) {
  std::vector<Scripted> events(kStream.begin(), kStream.begin() + 4);
  events.push_back(
      {"error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"});
  events.insert(events.end(), kStream.begin() + 4, kStream.end());  // whatever comes after
  const Response r = assemble(events);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error, "the server sent an error event: overloaded_error: Overloaded");
  EXPECT_EQ(r.text, "I can");
}

TEST(AnthropicAssembler, AMalformedEventIsMalformed) {
  std::vector<Scripted> events(kStream.begin(), kStream.begin() + 3);
  events.push_back({"content_block_delta", R"({"type":"content_block_delta","delta":{"te)"});
  const Response r = assemble(events);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_NE(r.error.find("stream event 4"), std::string::npos) << r.error;
}

TEST(AnthropicAssembler, EventsAfterMessageStopAreIgnored) {
  std::vector<Scripted> events = kStream;
  events.push_back({"error", R"({"type":"error","error":{"message":"late"}})"});
  EXPECT_EQ(assemble(events).outcome, Outcome::ok);
}

TEST(AnthropicAssembler, AnHttpErrorKeepsRetryAfterAndTheServersMessage) {
  ResponseAssembler assembler("", TimePoint{});
  HttpResult result;
  result.status = 529;
  result.headers = {{"retry-after", "2"}};
  result.body = R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})";
  const Response r = assembler.finish(std::move(result));
  EXPECT_EQ(r.outcome, Outcome::http_error);
  EXPECT_EQ(r.error, "HTTP 529: Overloaded");
  EXPECT_EQ(r.retry_after_s, 2.0);
}

}  // namespace
}  // namespace medsafe::anthropic
