// The assembler on its own: transport reports in, Response out (no network).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "openai_response.hpp"

namespace medsafe::openai {
namespace {

TimePoint at_ms(int ms) { return from_ns(static_cast<std::int64_t>(ms) * 1'000'000); }

SseEvent event(std::string_view data, int ms, std::string_view type = {}) {
  return SseEvent{type, data, {}, at_ms(ms)};
}

HttpResult stream_result() {
  HttpResult result;
  result.status = 200;
  result.sse = true;
  result.sent = at_ms(1);
  result.first_byte = at_ms(2);
  result.finished = at_ms(100);
  return result;
}

HttpResult body_result(int status, std::string body) {
  HttpResult result;
  result.status = status;
  result.body = std::move(body);
  result.sent = at_ms(1);
  result.first_byte = at_ms(2);
  result.finished = at_ms(3);
  return result;
}

constexpr const char* kRole =
    R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})";
constexpr const char* kHello = R"({"choices":[{"index":0,"delta":{"content":"Hello"}}]})";
constexpr const char* kWorld = R"({"choices":[{"index":0,"delta":{"content":" world"}}]})";
constexpr const char* kStop = R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})";
constexpr const char* kUsage =
    R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}})";

TEST(ResponseAssembler, AssemblesACompleteStream) {
  ResponseAssembler assembler("", at_ms(0));
  for (const auto& e : {event(kRole, 10), event(kHello, 20), event(kWorld, 30), event(kStop, 40),
                        event(kUsage, 50), event("[DONE]", 60)}) {
    assembler.on_event(e);
  }
  const Response r = assembler.finish(stream_result());
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.text, "Hello world");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.usage.prompt_tokens, 9);
  EXPECT_EQ(r.usage.completion_tokens, 3);
  EXPECT_EQ(r.usage.source, TokenSource::usage);
  EXPECT_EQ(r.timing.token_events, (std::vector<TimePoint>{at_ms(20), at_ms(30)}));
  EXPECT_EQ(r.timing.intended_send, at_ms(1)) << "epoch intended time means the send time";
  EXPECT_EQ(r.timing.sent, at_ms(1));
  EXPECT_EQ(r.timing.first_byte, at_ms(2));
  EXPECT_EQ(r.timing.finished, at_ms(100));
}

TEST(ResponseAssembler, CountsTokenEventsWithoutUsage) {
  ResponseAssembler assembler("", at_ms(0));
  for (const auto& e : {event(kRole, 10), event(kHello, 20), event(kWorld, 30), event(kStop, 40),
                        event("[DONE]", 60)}) {
    assembler.on_event(e);
  }
  const Response r = assembler.finish(stream_result());
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.usage.completion_tokens, 2);
  EXPECT_EQ(r.usage.source, TokenSource::events);
  EXPECT_EQ(r.usage.prompt_tokens, -1);
}

TEST(ResponseAssembler, KeepsTheIntendedSendTime) {
  ResponseAssembler assembler("", at_ms(-5));
  assembler.on_event(event("[DONE]", 3));
  EXPECT_EQ(assembler.finish(stream_result()).timing.intended_send, at_ms(-5));
}

TEST(ResponseAssembler, AStreamWithoutDoneIsAStreamErrorThatKeepsTheText) {
  ResponseAssembler assembler("", {});
  for (const auto& e : {event(kRole, 10), event(kHello, 20), event(kWorld, 30)}) {
    assembler.on_event(e);
  }
  const Response r = assembler.finish(stream_result());
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error, "stream ended after 3 events without [DONE]");
  EXPECT_EQ(r.text, "Hello world");
  EXPECT_EQ(r.timing.token_events.size(), 2u);
}

TEST(ResponseAssembler, SaysWhenTheStreamWasCutInsideAnEvent) {
  ResponseAssembler assembler("", {});
  assembler.on_event(event(kHello, 20));
  HttpResult result = stream_result();
  result.sse_truncated = true;
  const Response r = assembler.finish(std::move(result));
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error, "stream ended after 1 events without [DONE] (cut inside an event)");
}

TEST(ResponseAssembler, AnInBandErrorChunkIsAStreamError) {
  ResponseAssembler assembler("", {});
  assembler.on_event(event(kHello, 20));
  assembler.on_event(event(R"({"error":{"message":"engine died","code":500}})", 30));
  assembler.on_event(event(kWorld, 40));  // nothing after the error counts
  assembler.on_event(event("[DONE]", 50));
  const Response r = assembler.finish(stream_result());
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_NE(r.error.find("engine died"), std::string::npos) << r.error;
  EXPECT_EQ(r.text, "Hello");
}

TEST(ResponseAssembler, AnErrorEventTypeIsAStreamError) {
  ResponseAssembler assembler("", {});
  assembler.on_event(event(R"({"message":"overloaded"})", 30, "error"));
  const Response r = assembler.finish(stream_result());
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_NE(r.error.find("overloaded"), std::string::npos) << r.error;
}

TEST(ResponseAssembler, AMalformedChunkNamesTheEventAndTheFault) {
  ResponseAssembler assembler("", {});
  assembler.on_event(event(kHello, 20));
  assembler.on_event(event(R"({"choices":[{"delta":{"content":42}}]})", 30));
  assembler.on_event(event("[DONE]", 40));
  const Response r = assembler.finish(stream_result());
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_NE(r.error.find("stream event 2"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("content is not a string"), std::string::npos) << r.error;
  EXPECT_EQ(r.text, "Hello");
}

TEST(ResponseAssembler, PassesTransportFailuresThroughWithTheTextSoFar) {
  ResponseAssembler assembler("", {});
  assembler.on_event(event(kHello, 20));
  HttpResult result = stream_result();
  result.outcome = Outcome::timeout;
  result.error = "idle timeout: no data for 150 ms";
  const Response r = assembler.finish(std::move(result));
  EXPECT_EQ(r.outcome, Outcome::timeout);
  EXPECT_EQ(r.error, "idle timeout: no data for 150 ms (after 1 stream events)");
  EXPECT_EQ(r.text, "Hello");
}

TEST(ResponseAssembler, Non2xxIsAnHttpErrorWithRetryAfterAndAShortExcerpt) {
  ResponseAssembler assembler("", {});
  HttpResult result =
      body_result(429, R"({"error":{"message":"Rate limit reached for requests"}})");
  result.headers = {{"retry-after", "3"}};
  Response r = assembler.finish(std::move(result));
  EXPECT_EQ(r.outcome, Outcome::http_error);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.error, "HTTP 429: Rate limit reached for requests");
  EXPECT_EQ(r.retry_after_s, 3.0);

  ResponseAssembler long_body("", {});
  r = long_body.finish(body_result(502, "<html>" + std::string(5000, 'x') + "</html>"));
  EXPECT_EQ(r.outcome, Outcome::http_error);
  EXPECT_LT(r.error.size(), 330u);
  EXPECT_EQ(r.retry_after_s, std::nullopt);

  ResponseAssembler empty("", {});
  EXPECT_EQ(empty.finish(body_result(503, "")).error, "HTTP 503: (empty body)");
}

TEST(ResponseAssembler, DecodesANonStreamingBody) {
  ResponseAssembler assembler("", {});
  Response r = assembler.finish(
      body_result(200, R"({"choices":[{"message":{"content":"No."},"finish_reason":"stop"}],
               "usage":{"prompt_tokens":5,"completion_tokens":2}})"));
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.text, "No.");
  EXPECT_EQ(r.usage.completion_tokens, 2);
  EXPECT_EQ(r.usage.source, TokenSource::usage);
  EXPECT_TRUE(r.timing.token_events.empty());

  ResponseAssembler no_usage("", {});
  r = no_usage.finish(body_result(200, R"({"choices":[{"message":{"content":"No."}}]})"));
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.usage.source, TokenSource::none);
  EXPECT_EQ(r.usage.completion_tokens, -1);
}

TEST(ResponseAssembler, AMalformedBodyIsMalformed) {
  ResponseAssembler assembler("", {});
  const Response r = assembler.finish(body_result(200, "{\"choices\": [ oops"));
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_NE(r.error.find("not valid JSON"), std::string::npos) << r.error;
}

TEST(ResponseAssembler, AnErrorObjectIn2xxBodyIsAStreamError) {
  ResponseAssembler assembler("", {});
  const Response r = assembler.finish(body_result(200, R"({"error":{"message":"upstream"}})"));
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_NE(r.error.find("upstream"), std::string::npos) << r.error;
}

TEST(ResponseAssembler, RemovesTheSecretFromEverythingItReturns) {
  const std::string key = "sk-secret-123";
  ResponseAssembler assembler(key, {});
  Response r = assembler.finish(
      body_result(401, "{\"error\":{\"message\":\"bad key Bearer " + key + "\"}}"));
  EXPECT_EQ(r.error.find(key), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("[redacted]"), std::string::npos) << r.error;

  ResponseAssembler echo(key, {});
  echo.on_event(event(R"({"choices":[{"delta":{"content":"sk-secret-123"}}]})", 1));
  r = echo.finish(stream_result());
  EXPECT_EQ(r.text.find(key), std::string::npos) << r.text;
}

}  // namespace
}  // namespace medsafe::openai
