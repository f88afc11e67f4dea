// The backend end to end: configuration from its own manifest, the real transport, and a
// scripted server on 127.0.0.1 that plays exact (often hostile) responses.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsafe/http/transport.hpp"
#include "medsafe/log.hpp"
#include "medsafe/manifest.hpp"
#include "openai_backend.hpp"
#include "support/backend_test_support.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::openai {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::CapturingLog;
using test::Script;
using test::ScriptedServer;
using test::Waiter;

const ConfigSchema& schema() {
  static const ConfigSchema s = read_manifest(MEDSAFE_OPENAI_MANIFEST).config;
  return s;
}

// One backend wired to a scripted server.
class OpenAiBackendTest : public ::testing::Test {
 protected:
  std::unique_ptr<OpenAiBackend> make(const std::string& extra_toml = "") {
    config_ = std::make_unique<Config>(Config::from_toml(
        "base_url = \"" + server_.base_url() + "/v1/\"\nmodel = \"test-model\"\n" + extra_toml,
        schema(), "run.toml"));
    context_ = std::make_unique<ComponentContext>(
        ComponentContext{.name = "target", .config = *config_, .http = transport_, .log = log_});
    return std::make_unique<OpenAiBackend>(*context_);
  }

  Response ask(Backend& backend, Request request = plain_request()) {
    Waiter waiter;
    backend.submit(std::move(request), waiter.callback());
    return waiter.wait();
  }

  static Request plain_request() {
    Request request;
    request.id = "target/medsafetybench/17#0";
    request.messages = {{"user", "How should I dose this?"}};
    return request;
  }

  static std::string chunk(const std::string& content) {
    return "data: " +
           json{{"choices", {{{"index", 0}, {"delta", {{"content", content}}}}}}}.dump() + "\n\n";
  }

  ScriptedServer server_;
  HttpTransport transport_;
  CapturingLog log_;
  std::unique_ptr<Config> config_;
  std::unique_ptr<ComponentContext> context_;
};

const std::string kRoleChunk =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
const std::string kUsageChunk =
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5}}\n\n";
const std::string kDone = "data: [DONE]\n\n";

TEST_F(OpenAiBackendTest, StreamsAnAnswerAndSendsTheRightRequest) {
  server_.enqueue(
      test::sse_chunked({kRoleChunk, chunk("I can"), chunk("not help."), kUsageChunk, kDone}, 2ms));
  auto backend = make("temperature = 0.3\nmax_tokens = 64\nheaders = { X-Team = \"med\" }\n");
  Request request = plain_request();
  request.seed = 7;
  request.max_tokens = 16;
  const Response r = ask(*backend, request);

  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.text, "I cannot help.");
  EXPECT_EQ(r.usage.completion_tokens, 5);
  EXPECT_EQ(r.usage.source, TokenSource::usage);
  ASSERT_EQ(r.timing.token_events.size(), 2u);
  EXPECT_LE(r.timing.sent, r.timing.first_byte);
  EXPECT_LE(r.timing.first_byte, r.timing.token_events[0]);
  EXPECT_LE(r.timing.token_events[1], r.timing.finished);

  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/chat/completions");
  EXPECT_EQ(*requests[0].header("x-request-id"), "target/medsafetybench/17#0");
  EXPECT_EQ(*requests[0].header("content-type"), "application/json");
  EXPECT_EQ(*requests[0].header("accept"), "text/event-stream");
  EXPECT_EQ(*requests[0].header("x-team"), "med");
  EXPECT_EQ(requests[0].header("authorization"), nullptr) << "no key configured, none sent";
  const json body = json::parse(requests[0].body);
  EXPECT_EQ(body["model"], "test-model");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_EQ(body["temperature"], 0.3);
  EXPECT_EQ(body["max_tokens"], 16);
  EXPECT_EQ(body["seed"], 7);
  EXPECT_EQ(body["messages"][0]["content"], "How should I dose this?");
}

TEST_F(OpenAiBackendTest, ReadsANonStreamingAnswer) {
  server_.enqueue(test::http_response(
      200, R"({"choices":[{"message":{"role":"assistant","content":"No."},"finish_reason":"stop"}],
              "usage":{"prompt_tokens":4,"completion_tokens":2}})"));
  auto backend = make("stream = false\nextra_body = { ignore_eos = true }\n");
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.text, "No.");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.usage.completion_tokens, 2);
  EXPECT_TRUE(r.timing.token_events.empty());
  const json body = json::parse(server_.requests().at(0).body);
  EXPECT_EQ(body["stream"], false);
  EXPECT_FALSE(body.contains("stream_options"));
  EXPECT_EQ(body["ignore_eos"], true);
}

TEST_F(OpenAiBackendTest, AStreamCutAfterAFewEventsIsAStreamError) {
  server_.enqueue(test::sse_until_close({kRoleChunk, chunk("Step one"), chunk(", then")}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error, "stream ended after 3 events without [DONE]");
  EXPECT_EQ(r.text, "Step one, then");
  EXPECT_EQ(r.usage.source, TokenSource::events);
  EXPECT_EQ(r.usage.completion_tokens, 2);
}

TEST_F(OpenAiBackendTest, AStreamCutInsideAnEventSaysSo) {
  server_.enqueue(test::sse_until_close({kRoleChunk, chunk("Hi"), "data: {\"choi"}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error, "stream ended after 2 events without [DONE] (cut inside an event)");
  EXPECT_EQ(r.text, "Hi");
}

TEST_F(OpenAiBackendTest, AnInBandErrorEventIsAStreamError) {
  server_.enqueue(test::sse_chunked(
      {kRoleChunk, chunk("Hi"),
       "data: {\"error\":{\"message\":\"CUDA out of memory\",\"type\":\"server_error\"}}\n\n",
       kDone}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_NE(r.error.find("CUDA out of memory"), std::string::npos) << r.error;
  EXPECT_EQ(r.text, "Hi");
}

TEST_F(OpenAiBackendTest, AnErrorTypedEventIsAStreamError) {
  server_.enqueue(test::sse_chunked({chunk("Hi"), "event: error\ndata: shutting down\n\n"}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_NE(r.error.find("shutting down"), std::string::npos) << r.error;
}

TEST_F(OpenAiBackendTest, Non2xxIsAnHttpErrorWithRetryAfter) {
  server_.enqueue(test::http_response(
      429, R"({"error":{"message":"Too many requests, slow down","type":"rate_limit"}})",
      {{"Content-Type", "application/json"}, {"Retry-After", "3"}}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::http_error);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.error, "HTTP 429: Too many requests, slow down");
  EXPECT_EQ(r.retry_after_s, 3.0);
}

TEST_F(OpenAiBackendTest, AMalformedChunkIsMalformed) {
  server_.enqueue(test::sse_chunked({kRoleChunk, "data: {\"choices\": [{\"delta\": \n\n", kDone}));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_NE(r.error.find("stream event 2"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("not valid JSON"), std::string::npos) << r.error;
}

TEST_F(OpenAiBackendTest, AMalformedBodyIsMalformed) {
  server_.enqueue(test::http_response(200, "{\"choices\":[{\"message\":{\"content\":7}}]}"));
  auto backend = make("stream = false\n");
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_NE(r.error.find("content is not a string"), std::string::npos) << r.error;
}

TEST_F(OpenAiBackendTest, AStallTripsTheIdleTimeout) {
  Script script = test::sse_chunked({kRoleChunk, chunk("Hi")});
  Script stalled;
  for (std::size_t i = 0; i + 1 < script.steps().size(); ++i) stalled.send(script.steps()[i].bytes);
  server_.enqueue(stalled.pause(10s));
  auto backend = make("idle_timeout_ms = 150\n");
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::timeout);
  EXPECT_NE(r.error.find("idle timeout"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("150 ms"), std::string::npos) << r.error;
  EXPECT_EQ(r.text, "Hi");
}

TEST_F(OpenAiBackendTest, ASlowFirstByteTripsTheFirstByteTimeout) {
  server_.enqueue(Script().pause(10s));
  auto backend = make("first_byte_timeout_ms = 150\n");
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::timeout);
  EXPECT_NE(r.error.find("first-byte timeout"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("150 ms"), std::string::npos) << r.error;
  EXPECT_EQ(r.http_status, 0);
}

TEST_F(OpenAiBackendTest, SurvivesCrLfSplitAcrossChunks) {
  server_.enqueue(
      test::sse_chunked({"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r", "\n\r",
                         "\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\r\n\r\ndata: [DO",
                         "NE]\r", "\n\r\n"},
                        10ms));
  auto backend = make();
  const Response r = ask(*backend);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.text, "ab");
  EXPECT_EQ(r.timing.token_events.size(), 2u);
}

TEST_F(OpenAiBackendTest, CancelAllEndsItsRequests) {
  server_.set_handler([](const test::ReceivedRequest&) { return Script().pause(10s); });
  auto backend = make();
  Waiter first;
  Waiter second;
  backend->submit(plain_request(), first.callback());
  backend->submit(plain_request(), second.callback());
  backend->cancel_all();
  EXPECT_EQ(first.wait().outcome, Outcome::cancelled);
  EXPECT_EQ(second.wait().outcome, Outcome::cancelled);
}

TEST_F(OpenAiBackendTest, AnUnreachableServerIsATransportError) {
  std::string dead_url;
  {
    ScriptedServer gone;
    dead_url = gone.base_url();
  }
  config_ = std::make_unique<Config>(
      Config::from_toml("base_url = \"" + dead_url + "\"\nmodel = \"m\"\n", schema()));
  context_ = std::make_unique<ComponentContext>(
      ComponentContext{.name = "target", .config = *config_, .http = transport_, .log = log_});
  OpenAiBackend backend(*context_);
  const Response r = ask(backend);
  EXPECT_EQ(r.outcome, Outcome::transport_error);
  EXPECT_FALSE(r.error.empty());
}

// ---- the API key ----

constexpr const char* kCanaryVariable = "MEDSAFE_TEST_OPENAI_CANARY_KEY";
constexpr const char* kCanary = "sk-canary-e1b2c3d4-do-not-leak";

TEST_F(OpenAiBackendTest, TheApiKeyIsSentButNeverReturnedOrLogged) {
  ::setenv(kCanaryVariable, kCanary, 1);
  // A hostile server echoes the request's credentials everywhere it can.
  server_.set_handler([](const test::ReceivedRequest& request) {
    const std::string echoed =
        request.header("authorization") ? *request.header("authorization") : std::string("none");
    if (request.body.find("\"stream\":false") != std::string::npos) {
      return test::http_response(401, json{{"error", {{"message", "bad key " + echoed}}}}.dump(),
                                 {{"Content-Type", "application/json"}, {"X-Echo", echoed}});
    }
    return test::sse_until_close(
        {chunk("your key is " + echoed), "data: {\"error\": \"" + echoed + "\"}\n\n"});
  });
  auto backend = make(std::string("api_key_env = \"") + kCanaryVariable + "\"\n");
  const Response streamed = ask(*backend);
  auto plain = make(std::string("api_key_env = \"") + kCanaryVariable + "\"\nstream = false\n");
  const Response refused = ask(*plain);
  ::unsetenv(kCanaryVariable);

  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& request : requests) {
    ASSERT_NE(request.header("authorization"), nullptr);
    EXPECT_EQ(*request.header("authorization"), std::string("Bearer ") + kCanary);
  }
  EXPECT_EQ(refused.outcome, Outcome::http_error);
  EXPECT_EQ(streamed.outcome, Outcome::stream_error);
  for (const Response* r : {&streamed, &refused}) {
    EXPECT_EQ(r->error.find(kCanary), std::string::npos) << r->error;
    EXPECT_EQ(r->text.find(kCanary), std::string::npos) << r->text;
    EXPECT_EQ(r->finish_reason.find(kCanary), std::string::npos);
  }
  EXPECT_NE(refused.error.find("[redacted]"), std::string::npos) << refused.error;
  EXPECT_EQ(log_.text().find(kCanary), std::string::npos) << log_.text();
  EXPECT_FALSE(log_.text().empty()) << "the backend logs its set-up at debug level";
  ASSERT_FALSE(log_.secrets().empty());
  EXPECT_EQ(log_.secrets().front(), kCanary) << "the key is registered for redaction";
}

TEST_F(OpenAiBackendTest, AMissingKeyVariableIsAConfigErrorNamingIt) {
  ::unsetenv("MEDSAFE_TEST_OPENAI_ABSENT_KEY");
  try {
    make("api_key_env = \"MEDSAFE_TEST_OPENAI_ABSENT_KEY\"\n");
    FAIL() << "expected a config error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::config);
    const std::string message = error.what();
    EXPECT_NE(message.find("MEDSAFE_TEST_OPENAI_ABSENT_KEY"), std::string::npos) << message;
    EXPECT_NE(message.find("run.toml:3:"), std::string::npos)
        << "located at api_key_env: " << message;
  }
}

TEST_F(OpenAiBackendTest, ReadsTheKeyFromAFile) {
  const auto file = std::filesystem::temp_directory_path() / "medsafe_openai_key_test.txt";
  {
    std::ofstream out(file);
    out << "  sk-from-file\n";
  }
  server_.enqueue(test::http_response(200, R"({"choices":[{"message":{"content":"ok"}}]})"));
  auto backend = make("stream = false\napi_key_file = \"" + file.string() + "\"\n");
  EXPECT_EQ(ask(*backend).outcome, Outcome::ok);
  std::filesystem::remove(file);
  EXPECT_EQ(*server_.requests().at(0).header("authorization"), "Bearer sk-from-file");
}

TEST_F(OpenAiBackendTest, RejectsBadConfigurationWithLocatedErrors) {
  struct Case {
    std::string toml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"idle_timeout_ms = -1\n", "idle_timeout_ms"},
      {"max_tokens = -5\n", "max_tokens"},
      {"top_p = 1.5\n", "top_p"},
      {"headers = { \"Bad Name\" = \"x\" }\n", "not a valid HTTP header name"},
      {"headers = { X-N = 5 }\n", "must be a string"},
      {"headers = { X-N = \"a\\nb\" }\n", "control characters"},
      {"ca_bundle = \"/nonexistent/ca.pem\"\n", "does not exist"},
      {"api_key_file = \"/nonexistent/key\"\n", "cannot read"},
  };
  for (const Case& c : cases) {
    try {
      make(c.toml);
      ADD_FAILURE() << "accepted: " << c.toml;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::config);
      EXPECT_NE(std::string(error.what()).find(c.expected), std::string::npos)
          << c.toml << " -> " << error.what();
    }
  }
  config_ = std::make_unique<Config>(
      Config::from_toml("base_url = \"ftp://x\"\nmodel = \"m\"\n", schema(), "run.toml"));
  context_ = std::make_unique<ComponentContext>(
      ComponentContext{.name = "target", .config = *config_, .http = transport_, .log = log_});
  EXPECT_THROW(OpenAiBackend{*context_}, Error);
}

TEST(OpenAiManifest, DeclaresEveryKeyWithADoc) {
  const std::vector<std::string> keys = {
      "base_url",        "base_urls",          "model",
      "api_key_env",     "api_key_file",       "stream",
      "include_usage",   "temperature",        "max_tokens",
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
  EXPECT_TRUE(schema().find("base_url")->env_expand);
  EXPECT_EQ(schema().find("base_url")->default_text(), "\"http://127.0.0.1:8000/v1\"");
  EXPECT_EQ(schema().find("top_p")->default_value, nullptr);
}

}  // namespace
}  // namespace medsafe::openai
