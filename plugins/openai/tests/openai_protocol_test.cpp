#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "openai_protocol.hpp"

namespace medsafe::openai {
namespace {

using nlohmann::json;

Request user_request(std::string prompt) {
  Request request;
  request.id = "m/s/1#0";
  request.messages = {{"user", std::move(prompt)}};
  return request;
}

BodySettings settings() {
  BodySettings s;
  s.model = "llama-3-8b";
  return s;
}

// ---- build_request_body ----

TEST(BuildRequestBody, HasModelMessagesAndStreamingOptions) {
  const json body = json::parse(build_request_body(user_request("hi"), settings()));
  EXPECT_EQ(body["model"], "llama-3-8b");
  EXPECT_EQ(body["messages"], json::parse(R"([{"role":"user","content":"hi"}])"));
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"], json::parse(R"({"include_usage":true})"));
  EXPECT_EQ(body["temperature"], 0.0);
  EXPECT_EQ(body["max_tokens"], 1024);
  EXPECT_FALSE(body.contains("top_p"));
  EXPECT_FALSE(body.contains("seed"));
}

TEST(BuildRequestBody, SendsNoStreamOptionsWhenNotStreamingOrNotAsked) {
  BodySettings s = settings();
  s.stream = false;
  json body = json::parse(build_request_body(user_request("hi"), s));
  EXPECT_EQ(body["stream"], false);
  EXPECT_FALSE(body.contains("stream_options"));
  s.stream = true;
  s.include_usage = false;
  body = json::parse(build_request_body(user_request("hi"), s));
  EXPECT_FALSE(body.contains("stream_options"));
}

TEST(BuildRequestBody, RequestFieldsOverrideTheSettings) {
  BodySettings s = settings();
  s.temperature = 0.7;
  s.max_tokens = 100;
  s.top_p = 0.9;
  Request request = user_request("hi");
  request.temperature = 0.0;
  request.max_tokens = 7;
  request.seed = 18446744073709551615ull;
  const json body = json::parse(build_request_body(request, s));
  EXPECT_EQ(body["temperature"], 0.0);
  EXPECT_EQ(body["max_tokens"], 7);
  EXPECT_EQ(body["top_p"], 0.9);
  EXPECT_EQ(body["seed"].get<std::uint64_t>(), 18446744073709551615ull);
}

TEST(BuildRequestBody, LeavesOutMaxTokensWhenZero) {
  BodySettings s = settings();
  s.max_tokens = 0;
  EXPECT_FALSE(json::parse(build_request_body(user_request("hi"), s)).contains("max_tokens"));
}

TEST(BuildRequestBody, PrependsTheSystemPromptUnlessTheRequestHasOne) {
  BodySettings s = settings();
  s.system_prompt = "Be brief.";
  json body = json::parse(build_request_body(user_request("hi"), s));
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0], json::parse(R"({"role":"system","content":"Be brief."})"));

  Request own = user_request("hi");
  own.messages.insert(own.messages.begin(), Message{"system", "Mine."});
  body = json::parse(build_request_body(own, s));
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["content"], "Mine.");
}

// A load test's request (Request::load) asks for exactly max_tokens tokens; no other request does.
TEST(BuildRequestBody, SendsIgnoreEosOnlyForALoadTestThatAsks) {
  Request request = user_request("hi");
  request.max_tokens = 64;
  EXPECT_FALSE(json::parse(build_request_body(request, settings())).contains("ignore_eos"));
  request.load.ignore_eos = true;
  const json body = json::parse(build_request_body(request, settings()));
  EXPECT_EQ(body["ignore_eos"], true);
  EXPECT_EQ(body["max_tokens"], 64);
}

TEST(BuildRequestBody, MergesExtraBody) {
  BodySettings s = settings();
  s.extra_body = json::parse(R"({"ignore_eos":true,"temperature":0.5,
                                 "stream_options":{"continuous_usage_stats":true}})");
  const json body = json::parse(build_request_body(user_request("hi"), s));
  EXPECT_EQ(body["ignore_eos"], true);
  EXPECT_EQ(body["temperature"], 0.5);
  EXPECT_EQ(body["stream_options"],
            json::parse(R"({"include_usage":true,"continuous_usage_stats":true})"));
}

TEST(BuildRequestBody, EscapesAndReplacesInvalidUtf8InsteadOfThrowing) {
  const std::string text = std::string("quote\" newline\n bad\xff end");
  std::string out;
  ASSERT_NO_THROW(out = build_request_body(user_request(text), settings()));
  const json body = json::parse(out);
  const std::string content = body["messages"][0]["content"];
  EXPECT_EQ(content.substr(0, 19), "quote\" newline\n bad");
  EXPECT_NE(content.find("end"), std::string::npos);
}

TEST(BuildRequestBody, RoundTripsEveryAsciiCharacterAndUnicode) {
  std::string text;
  for (int c = 0; c < 0x80; ++c) text += static_cast<char>(c);
  text += "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \u2028";
  const json body = json::parse(build_request_body(user_request(text), settings()));
  EXPECT_EQ(body["messages"][0]["content"].get<std::string>(), text);
}

TEST(BuildRequestBody, WritesNumbersThatReadBackExactly) {
  BodySettings s = settings();
  s.temperature = 0.1 + 0.2;
  s.top_p = 1e-7;
  const json body = json::parse(build_request_body(user_request("hi"), s));
  EXPECT_EQ(body["temperature"].get<double>(), 0.1 + 0.2);
  EXPECT_EQ(body["top_p"].get<double>(), 1e-7);
}

// ---- decode_stream_chunk ----

TEST(DecodeStreamChunk, RoleOnlyChunkIsNotTokenBearing) {
  const Decoded d = decode_stream_chunk(
      R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})");
  EXPECT_EQ(d.status, DecodeStatus::ok) << d.message;
  EXPECT_FALSE(d.token_bearing());
  EXPECT_EQ(d.finish_reason, "");
}

TEST(DecodeStreamChunk, ReadsContentReasoningAndToolCalls) {
  Decoded d = decode_stream_chunk(R"({"choices":[{"index":0,"delta":{"content":"Hel"}}]})");
  EXPECT_EQ(d.content, "Hel");
  EXPECT_TRUE(d.token_bearing());

  d = decode_stream_chunk(
      R"({"choices":[{"delta":{"reasoning_content":"think","content":null}}]})");
  EXPECT_EQ(d.status, DecodeStatus::ok) << d.message;
  EXPECT_EQ(d.reasoning, "think");
  EXPECT_EQ(d.content, "");
  EXPECT_TRUE(d.token_bearing());

  d = decode_stream_chunk(R"({"choices":[{"delta":{"reasoning":"hmm"}}]})");
  EXPECT_EQ(d.reasoning, "hmm");

  d = decode_stream_chunk(
      R"({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]})");
  EXPECT_TRUE(d.tool_calls);
  EXPECT_TRUE(d.token_bearing());

  d = decode_stream_chunk(R"({"choices":[{"delta":{"tool_calls":[]}}]})");
  EXPECT_FALSE(d.token_bearing());
}

TEST(DecodeStreamChunk, ReadsFinishReasonAndUsage) {
  Decoded d = decode_stream_chunk(R"({"choices":[{"delta":{},"finish_reason":"length"}]})");
  EXPECT_EQ(d.finish_reason, "length");
  EXPECT_FALSE(d.token_bearing());

  d = decode_stream_chunk(
      R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46}})");
  EXPECT_EQ(d.status, DecodeStatus::ok) << d.message;
  EXPECT_EQ(d.prompt_tokens, 12);
  EXPECT_EQ(d.completion_tokens, 34);
  EXPECT_FALSE(d.token_bearing());

  d = decode_stream_chunk(R"({"choices":[{"delta":{"content":"x"}}],"usage":null})");
  EXPECT_EQ(d.completion_tokens, -1);
}

TEST(DecodeStreamChunk, IgnoresOtherChoices) {
  const Decoded d = decode_stream_chunk(
      R"({"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]})");
  EXPECT_EQ(d.content, "mine");
}

TEST(DecodeStreamChunk, RecognisesErrorObjects) {
  Decoded d = decode_stream_chunk(R"({"error":{"message":"model overloaded","type":"server"}})");
  EXPECT_EQ(d.status, DecodeStatus::error_object);
  EXPECT_EQ(d.message, "model overloaded");

  d = decode_stream_chunk(R"({"object":"error","message":"vLLM says no","code":400})");
  EXPECT_EQ(d.status, DecodeStatus::error_object);
  EXPECT_EQ(d.message, "vLLM says no");

  d = decode_stream_chunk(R"({"error":"plain text"})");
  EXPECT_EQ(d.status, DecodeStatus::error_object);
  EXPECT_EQ(d.message, "plain text");
}

TEST(DecodeStreamChunk, NamesWhatIsMalformed) {
  struct Case {
    const char* data;
    const char* expected;
  };
  const Case cases[] = {
      {R"({"choices":[{"delta":{"content":"x"})", "not valid JSON"},
      {R"([1,2])", "not a JSON object"},
      {R"({"choices":{"delta":{}}})", "choices is not an array"},
      {R"({"choices":["x"]})", "a choice is not an object"},
      {R"({"choices":[{"delta":"x"}]})", "choices[0].delta is not an object"},
      {R"({"choices":[{"delta":{"content":5}}]})", "choices[0].delta.content is not a string"},
      {R"({"choices":[{"delta":{"tool_calls":{}}}]})", "tool_calls is not an array"},
      {R"({"choices":[{"delta":{},"finish_reason":1}]})", "finish_reason is not a string"},
      {R"({"choices":[],"usage":{"completion_tokens":"7"}})", "usage.completion_tokens"},
      {R"({"choices":[],"usage":[]})", "usage is not an object"},
      {R"({"created":1e999999,"choices":[]})", "not valid JSON"},  // overflow: no exception
  };
  for (const Case& c : cases) {
    const Decoded d = decode_stream_chunk(c.data);
    EXPECT_EQ(d.status, DecodeStatus::malformed) << c.data;
    EXPECT_NE(d.message.find(c.expected), std::string::npos) << c.data << " -> " << d.message;
    EXPECT_TRUE(d.content.empty());
  }
}

// ---- decode_completion ----

TEST(DecodeCompletion, ReadsAGoodBody) {
  const Decoded d = decode_completion(R"({
    "id":"x","object":"chat.completion",
    "choices":[{"index":0,"message":{"role":"assistant","content":"I can't help with that."},
                "finish_reason":"stop"}],
    "usage":{"prompt_tokens":20,"completion_tokens":8,"total_tokens":28}})");
  EXPECT_EQ(d.status, DecodeStatus::ok) << d.message;
  EXPECT_EQ(d.content, "I can't help with that.");
  EXPECT_EQ(d.finish_reason, "stop");
  EXPECT_EQ(d.prompt_tokens, 20);
  EXPECT_EQ(d.completion_tokens, 8);
}

TEST(DecodeCompletion, AcceptsToolCallsWithNullContent) {
  const Decoded d = decode_completion(
      R"({"choices":[{"message":{"content":null,"tool_calls":[{"id":"t"}]},"finish_reason":"tool_calls"}]})");
  EXPECT_EQ(d.status, DecodeStatus::ok) << d.message;
  EXPECT_TRUE(d.tool_calls);
  EXPECT_EQ(d.completion_tokens, -1);
}

TEST(DecodeCompletion, NamesWhatIsMalformed) {
  struct Case {
    const char* body;
    const char* expected;
  };
  const Case cases[] = {
      {"", "not valid JSON"},
      {"<html>502 Bad Gateway</html>", "not valid JSON"},
      {R"({"id":"x"})", "no choices"},
      {R"({"choices":[]})", "empty choices"},
      {R"({"choices":[{"finish_reason":"stop"}]})", "no choices[0].message"},
      {R"({"choices":[{"message":{"content":["a"]}}]})", "message.content is not a string"},
  };
  for (const Case& c : cases) {
    const Decoded d = decode_completion(c.body);
    EXPECT_EQ(d.status, DecodeStatus::malformed) << c.body;
    EXPECT_NE(d.message.find(c.expected), std::string::npos) << c.body << " -> " << d.message;
  }
}

TEST(DecodeCompletion, RecognisesAnErrorObject) {
  const Decoded d = decode_completion(R"({"error":{"message":"context too long","code":400}})");
  EXPECT_EQ(d.status, DecodeStatus::error_object);
  EXPECT_EQ(d.message, "context too long");
}

// ---- error_message and excerpt ----

TEST(ErrorMessage, FindsTheMessageInCommonShapes) {
  EXPECT_EQ(error_message(R"({"error":{"message":"Rate limit reached"}})"), "Rate limit reached");
  EXPECT_EQ(error_message(R"({"error":"bad key"})"), "bad key");
  EXPECT_EQ(error_message(R"({"object":"error","message":"m"})"), "m");
  EXPECT_EQ(error_message(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(error_message("upstream\r\nconnect error"), "upstream connect error");
  EXPECT_EQ(error_message(R"({"error":{"code":1}})"), R"({"error":{"code":1}})");
}

TEST(Excerpt, MakesHostileTextOneSafeLine) {
  EXPECT_EQ(excerpt("  a\n\n\tb\x01\x7f c  "), "a b c");
  EXPECT_EQ(excerpt("bad \xff\xfe bytes"), "bad ?? bytes");
  EXPECT_EQ(excerpt("\xed\xa0\x80"), "???") << "a UTF-16 surrogate is not UTF-8";
  EXPECT_EQ(excerpt("\xc3"), "?") << "a truncated sequence";
  EXPECT_EQ(excerpt("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(Excerpt, CutsAtTheLimitWithoutSplittingACharacter) {
  EXPECT_EQ(excerpt(std::string(1000, 'x'), 300), std::string(300, 'x') + "...");
  EXPECT_EQ(excerpt("ab\xc3\xa9", 3), "ab...");
  EXPECT_EQ(excerpt("abc", 3), "abc");
}

// ---- parse_retry_after ----

const auto kNow = std::chrono::system_clock::from_time_t(784111777 - 30);  // 30 s before the date

TEST(ParseRetryAfter, ReadsDelaySeconds) {
  EXPECT_EQ(parse_retry_after("120", kNow), 120.0);
  EXPECT_EQ(parse_retry_after(" 0 ", kNow), 0.0);
  EXPECT_EQ(parse_retry_after("1.5", kNow), 1.5);
}

TEST(ParseRetryAfter, ReadsTheThreeHttpDateForms) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), 30.0);
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", kNow), 30.0);
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", kNow), 30.0);
  EXPECT_EQ(parse_retry_after("sun, 06 nov 1994 08:50:37 gmt", kNow), 90.0);
}

TEST(ParseRetryAfter, APastDateMeansNow) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", kNow), 0.0);
}

TEST(ParseRetryAfter, RejectsAnythingElse) {
  for (const char* value :
       {"", "soon", "-5", "5s", "1e3", "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nox 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 GMT",
        "Sun, 06 Nov 08:49:37 GMT", "Sun, 06 Nov 199 08:49:37 GMT"}) {
    EXPECT_EQ(parse_retry_after(value, kNow), std::nullopt) << value;
  }
}

}  // namespace
}  // namespace medsafe::openai
