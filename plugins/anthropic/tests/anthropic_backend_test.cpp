// The backend end to end: configuration from its own manifest, the real transport, and a
// scripted server on 127.0.0.1 that plays exact (often hostile) responses.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "anthropic_backend.hpp"
#include "medsafe/http/transport.hpp"
#include "medsafe/manifest.hpp"
#include "support/backend_test_support.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::anthropic {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::CapturingLog;
using test::Script;
using test::ScriptedServer;
using test::Waiter;

const ConfigSchema& schema() {
  static const ConfigSchema s = read_manifest(MEDSAFE_ANTHROPIC_MANIFEST).config;
  return s;
}

std::string event(const std::string& type, const json& data) {
  return "event: " + type + "\ndata: " + data.dump() + "\n\n";
}

std::string text_delta(const std::string& text) {
  return event("content_block_delta", {{"type", "content_block_delta"},
                                       {"index", 0},
                                       {"delta", {{"type", "text_delta"}, {"text", text}}}});
}

const std::string kMessageStart =
    event("message_start",
          json::parse(R"({"type":"message_start","message":{"id":"msg_1","type":"message",
      "role":"assistant","content":[],"model":"claude-test","stop_reason":null,
      "stop_sequence":null,"usage":{"input_tokens":6,"output_tokens":1}}})"));
const std::string kBlockStart = event(
    "content_block_start",
    json::parse(
        R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"));
const std::string kPing = event("ping", {{"type", "ping"}});
const std::string kBlockStop =
    event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}});
const std::string kMessageDelta = event(
    "message_delta",
    json::parse(R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},
      "usage":{"output_tokens":4}})"));
const std::string kMessageStop = event("message_stop", {{"type", "message_stop"}});

class AnthropicBackendTest : public ::testing::Test {
 protected:
  std::unique_ptr<AnthropicBackend> make(const std::string& extra_toml = "") {
    // A test that sets its own model replaces the default one (TOML forbids a second `model`).
    const bool sets_model = extra_toml.rfind("model =", 0) == 0;
    const std::string model_line = sets_model ? "" : "model = \"claude-test\"\n";
    config_ = std::make_unique<Config>(Config::from_toml(
        "base_url = \"" + server_.base_url() + "/v1/\"\n" + model_line + extra_toml, schema(),
        "run.toml"));
    context_ = std::make_unique<ComponentContext>(
        ComponentContext{.name = "target", .config = *config_, .http = transport_, .log = log_});
    return std::make_unique<AnthropicBackend>(*context_);
  }

  static Response ask(Backend& backend, Request request = plain_request()) {
    Waiter waiter;
    backend.submit(std::move(request), waiter.callback());
    return waiter.wait();
  }

  static Request plain_request() {
    Request request;
    request.id = "target/medsafetybench/17#0";
    request.messages = {{"system", "You are a careful clinician."},
                        {"user", "How should I dose this?"}};
    return request;
  }

  ScriptedServer server_;
  HttpTransport transport_;
  CapturingLog log_;
  std::unique_ptr<Config> config_;
  std::unique_ptr<ComponentContext> context_;
};

TEST_F(AnthropicBackendTest, StreamsTheEventSequenceAndSendsTheRightRequest) {
  server_.enqueue(
      test::sse_chunked({kMessageStart, kBlockStart, kPing, text_delta("I can"),
                         text_delta("not help."), kBlockStop, kMessageDelta, kMessageStop},
                        2ms));
  auto backend = make("temperature = 0.3\nmax_tokens = 64\nheaders = { X-Team = \"med\" }\n");
  Request request = plain_request();
  request.max_tokens = 16;
  const Response r = ask(*backend, request);

  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.text, "I cannot help.");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.usage.prompt_tokens, 6);
  EXPECT_EQ(r.usage.completion_tokens, 4);
  EXPECT_EQ(r.usage.source, TokenSource::usage);
  ASSERT_EQ(r.timing.token_events.size(), 2u);
  EXPECT_LE(r.timing.sent, r.timing.first_byte);
  EXPECT_LE(r.timing.first_byte, r.timing.token_events[0]);
  EXPECT_LE(r.timing.token_events[1], r.timing.finished);

  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/messages");
  EXPECT_EQ(*requests[0].header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(*requests[0].header("content-type"), "application/json");
  EXPECT_EQ(*requests[0].header("accept"), "text/event-stream");
  EXPECT_EQ(*requests[0].header("x-request-id"), "target/medsafetybench/17#0");
  EXPECT_EQ(*requests[0].header("x-team"), "med");
  EXPECT_EQ(requests[0].header("x-api-key"), nullptr) << "no key configured, none sent";
  const json body = json::parse(requests[0].body);
  EXPECT_EQ(body["model"], "claude-test");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["max_tokens"], 16);
  EXPECT_EQ(body["temperature"], 0.3);
  EXPECT_EQ(body["system"], "You are a careful clinician.");
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["messages"][0]["content"], "How should I dose this?");
}

TEST_F(AnthropicBackendTest, ReadsANonStreamingAnswer) {
  server_.enqueue(test::http_response(
      200, R"({"id":"msg_2","type":"message","role":"assistant","model":"claude-test",
              "content":[{"type":"text","text":"No."}],"stop_reason":"max_tokens",
              "stop_sequence":null,"usage":{"input_tokens":4,"output_tokens":2}})"));
  auto backend = make("stream = false\nanthropic_version = \"2024-01-01\"\n");
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.text, "No.");
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.usage.prompt_tokens, 4);
  EXPECT_EQ(r.usage.completion_tokens, 2);
  EXPECT_TRUE(r.timing.token_events.empty());
  const auto request = server_.requests().at(0);
  EXPECT_EQ(*request.header("anthropic-version"), "2024-01-01");
  EXPECT_EQ(*request.header("accept"), "application/json");
  EXPECT_EQ(json::parse(request.body)["stream"], false);
}

TEST_F(AnthropicBackendTest, AStreamCutAfterAFewEventsIsAStreamError) {
  server_.enqueue(test::sse_until_close({kMessageStart, kBlockStart, text_delta("Step one")}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error, "stream ended after 3 events without message_stop");
  EXPECT_EQ(r.text, "Step one");
  EXPECT_EQ(r.usage.source, TokenSource::events);
  EXPECT_EQ(r.usage.completion_tokens, 1);
}

TEST_F(AnthropicBackendTest, AStreamCutInsideAnEventSaysSo) {
  server_.enqueue(test::sse_until_close(
      {kMessageStart, text_delta("Hi"), "event: content_block_delta\ndata: {\"ty"}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error, "stream ended after 2 events without message_stop (cut inside an event)");
  EXPECT_EQ(r.text, "Hi");
}

TEST_F(AnthropicBackendTest, AnInBandErrorEventIsAStreamError) {
  server_.enqueue(test::sse_chunked(
      {kMessageStart, kBlockStart, text_delta("Hi"),
       event("error",
             json::parse(
                 R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})")),
       kMessageStop}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error, "the server sent an error event: overloaded_error: Overloaded");
  EXPECT_EQ(r.text, "Hi");
}

TEST_F(AnthropicBackendTest, Non2xxIsAnHttpErrorWithRetryAfter) {
  server_.enqueue(test::http_response(
      429,
      R"({"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}})",
      {{"Content-Type", "application/json"}, {"Retry-After", "7"}}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::http_error);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.error, "HTTP 429: Number of requests has exceeded your rate limit");
  EXPECT_EQ(r.retry_after_s, 7.0);
}

TEST_F(AnthropicBackendTest, AMalformedEventIsMalformed) {
  server_.enqueue(test::sse_chunked(
      {kMessageStart, "event: content_block_delta\ndata: {\"delta\": \n\n", kMessageStop}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_NE(r.error.find("stream event 2"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("not valid JSON"), std::string::npos) << r.error;
}

TEST_F(AnthropicBackendTest, AnErrorObjectIn200IsAStreamError) {
  server_.enqueue(test::http_response(
      200, R"({"type":"error","error":{"type":"api_error","message":"Internal server error"}})"));
  auto backend = make("stream = false\n");
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error, "the server returned an error object: api_error: Internal server error");
}

TEST_F(AnthropicBackendTest, AStallTripsTheIdleTimeout) {
  server_.enqueue(Script()
                      .send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" +
                            kMessageStart + text_delta("Hi"))
                      .pause(10s));
  auto backend = make("idle_timeout_ms = 150\n");
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::timeout);
  EXPECT_NE(r.error.find("idle timeout"), std::string::npos) << r.error;
  EXPECT_EQ(r.text, "Hi");
}

// ---- the API key ----

constexpr const char* kCanaryVariable = "MEDSAFE_TEST_ANTHROPIC_CANARY_KEY";
constexpr const char* kCanary = "sk-ant-canary-77f1-do-not-leak";

TEST_F(AnthropicBackendTest, TheKeyGoesInXApiKeyAndIsNeverReturnedOrLogged) {
  ::setenv(kCanaryVariable, kCanary, 1);
  // A hostile server echoes the request's credentials everywhere it can.
  server_.set_handler([](const test::ReceivedRequest& request) {
    const std::string echoed =
        request.header("x-api-key") ? *request.header("x-api-key") : std::string("none");
    if (request.body.find("\"stream\":false") != std::string::npos) {
      return test::http_response(
          401,
          json{{"type", "error"}, {"error", {{"message", "invalid x-api-key " + echoed}}}}.dump());
    }
    return test::sse_until_close(
        {kMessageStart, text_delta("your key is " + echoed),
         event("error", {{"type", "error"}, {"error", {{"message", echoed}}}})});
  });
  auto backend = make(std::string("api_key_env = \"") + kCanaryVariable + "\"\n");
  const Response streamed = ask(*backend);
  auto plain = make(std::string("api_key_env = \"") + kCanaryVariable + "\"\nstream = false\n");
  const Response refused = ask(*plain);
  ::unsetenv(kCanaryVariable);

  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& request : requests) {
    ASSERT_NE(request.header("x-api-key"), nullptr);
    EXPECT_EQ(*request.header("x-api-key"), kCanary);
    EXPECT_EQ(request.header("authorization"), nullptr);
  }
  EXPECT_EQ(refused.outcome, Outcome::http_error);
  EXPECT_EQ(streamed.outcome, Outcome::stream_error);
  for (const Response* r : {&streamed, &refused}) {
    EXPECT_EQ(r->error.find(kCanary), std::string::npos) << r->error;
    EXPECT_EQ(r->text.find(kCanary), std::string::npos) << r->text;
  }
  EXPECT_NE(refused.error.find("[redacted]"), std::string::npos) << refused.error;
  EXPECT_EQ(log_.text().find(kCanary), std::string::npos) << log_.text();
  ASSERT_FALSE(log_.secrets().empty());
  EXPECT_EQ(log_.secrets().front(), kCanary) << "the key is registered for redaction";
}

TEST_F(AnthropicBackendTest, RejectsBadConfigurationWithLocatedErrors) {
  ::setenv(kCanaryVariable, kCanary, 1);
  struct Case {
    std::string toml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"max_tokens = 0\n", "max_tokens"},
      {"temperature = 1.5\n", "between 0 and 1"},
      {"top_p = 0\n", "top_p"},
      {"anthropic_version = \"\"\n", "anthropic_version"},
      {"model = \" \"\n", "must not be empty"},
      {"total_timeout_ms = -1\n", "total_timeout_ms"},
      {std::string("api_key_env = \"") + kCanaryVariable + "\"\nheaders = { X-Api-Key = \"k\" }\n",
       "keep one"},
  };
  for (const Case& c : cases) {
    try {
      make(c.toml);
      ADD_FAILURE() << "accepted: " << c.toml;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::config);
      EXPECT_NE(std::string(error.what()).find(c.expected), std::string::npos)
          << c.toml << " -> " << error.what();
      EXPECT_NE(std::string(error.what()).find("run.toml:"), std::string::npos) << error.what();
    }
  }
  ::unsetenv(kCanaryVariable);
}

TEST(AnthropicManifest, DeclaresEveryKeyWithADoc) {
  const std::vector<std::string> keys = {
      "base_url",        "base_urls",          "model",
      "api_key_env",     "api_key_file",       "anthropic_version",
      "stream",          "temperature",        "max_tokens",
      "top_p",           "system_prompt",      "extra_body",
      "headers",         "connect_timeout_ms", "first_byte_timeout_ms",
      "idle_timeout_ms", "total_timeout_ms",   "verify_tls",
      "ca_bundle"};
  for (const std::string& key : keys) {
    const KeySpec* spec = schema().find(key);
    ASSERT_NE(spec, nullptr) << key;
    EXPECT_GT(spec->doc.size(), 20u) << key;
  }
  EXPECT_EQ(schema().keys.size(), keys.size());
  EXPECT_TRUE(schema().find("model")->required);
  EXPECT_EQ(schema().find("anthropic_version")->default_text(), "\"2023-06-01\"");
  EXPECT_EQ(schema().find("max_tokens")->default_text(), "1024");
}

}  // namespace
}  // namespace medsafe::anthropic
