// The backend against the simulated server's Anthropic endpoint (POST /v1/messages): the real
// event sequence, streamed and not, its timing against the server's own record, and its faults.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "anthropic_backend.hpp"
#include "medsafe/http/transport.hpp"
#include "medsafe/manifest.hpp"
#include "sim_server.hpp"
#include "support/backend_test_support.hpp"

namespace medsafe::anthropic {
namespace {

using test::CapturingLog;
using test::Waiter;

const ConfigSchema& schema() {
  static const ConfigSchema s = read_manifest(MEDSAFE_ANTHROPIC_MANIFEST).config;
  return s;
}

class AnthropicSimTest : public ::testing::Test {
 protected:
  void start(const std::string& sim_toml) {
    sim::ServerOptions options;
    options.settings = sim::settings_from_toml(sim_toml, "sim.toml");
    server_ = std::make_unique<sim::SimServer>(options);
    server_->start();
  }

  std::unique_ptr<AnthropicBackend> make(const std::string& extra_toml = "") {
    configs_.push_back(std::make_unique<Config>(Config::from_toml(
        "base_url = \"" + server_->base_url() + "\"\nmodel = \"claude-sim\"\n" + extra_toml,
        schema(), "run.toml")));
    contexts_.push_back(std::make_unique<ComponentContext>(ComponentContext{
        .name = "target", .config = *configs_.back(), .http = transport_, .log = log_}));
    return std::make_unique<AnthropicBackend>(*contexts_.back());
  }

  static Response ask(Backend& backend, const std::string& id, const std::string& prompt) {
    Request request;
    request.id = id;
    request.messages = {{"user", prompt}};
    Waiter waiter;
    backend.submit(std::move(request), waiter.callback());
    return waiter.wait();
  }

  std::unique_ptr<sim::SimServer> server_;
  HttpTransport transport_;
  CapturingLog log_;
  std::vector<std::unique_ptr<Config>> configs_;
  std::vector<std::unique_ptr<ComponentContext>> contexts_;
};

TEST_F(AnthropicSimTest, StreamsAnAnswerTimedLikeTheServersRecord) {
  start("refusal_rate = 0\noutput_tokens = 9\nttft_ms = 30\nitl_ms = 5\n");
  auto streaming = make();
  auto plain = make("stream = false\n");
  const Response streamed = ask(*streaming, "sim/1", "Tell me about dosing.");
  const Response whole = ask(*plain, "sim/2", "Tell me about dosing.");

  ASSERT_EQ(streamed.outcome, Outcome::ok) << streamed.error;
  ASSERT_EQ(whole.outcome, Outcome::ok) << whole.error;
  EXPECT_EQ(streamed.text, whole.text) << "the same deterministic answer either way";
  EXPECT_EQ(streamed.text.rfind(sim::kComplianceMarker, 0), 0u) << streamed.text;
  EXPECT_EQ(streamed.usage.completion_tokens, 9);
  EXPECT_EQ(streamed.usage.source, TokenSource::usage);
  EXPECT_EQ(streamed.finish_reason, "stop");
  EXPECT_GT(streamed.usage.prompt_tokens, 0);
  EXPECT_EQ(whole.usage.completion_tokens, 9);
  EXPECT_TRUE(whole.timing.token_events.empty());

  const std::vector<sim::LogEntry> log = server_->log();
  ASSERT_EQ(log.size(), 2u);
  const sim::LogEntry& entry = log[0].id == "sim/1" ? log[0] : log[1];
  EXPECT_EQ(entry.api, "anthropic");
  EXPECT_TRUE(entry.streamed);
  ASSERT_EQ(entry.event_ns.size(), streamed.timing.token_events.size())
      << "one token-bearing event per content event the server wrote";
  for (std::size_t i = 0; i < entry.event_ns.size(); ++i) {
    // The server stamps an event before writing it; the client when its blank line arrives.
    EXPECT_LE(entry.event_ns[i], to_ns(streamed.timing.token_events[i])) << i;
  }
  EXPECT_LE(to_ns(streamed.timing.sent), entry.received_ns);
}

TEST_F(AnthropicSimTest, AnswersAreCutAtMaxTokens) {
  start("refusal_rate = 0\noutput_tokens = 40\n");
  auto backend = make("max_tokens = 5\n");
  const Response r = ask(*backend, "sim/cut", "q");
  ASSERT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.usage.completion_tokens, 5);
}

TEST_F(AnthropicSimTest, ItsInBandErrorEventsFailTheRequest) {
  start(
      "refusal_rate = 0\noutput_tokens = 8\nfault_error_event_rate = 1\nfault_after_events = 2\n");
  auto streaming = make();
  auto plain = make("stream = false\n");
  const Response streamed = ask(*streaming, "sim/e1", "q");
  EXPECT_EQ(streamed.outcome, Outcome::stream_error);
  EXPECT_NE(streamed.error.find("the server sent an error event: overloaded_error"),
            std::string::npos)
      << streamed.error;
  EXPECT_EQ(streamed.timing.token_events.size(), 2u) << "the events before the error count";
  EXPECT_FALSE(streamed.text.empty());

  const Response whole = ask(*plain, "sim/e2", "q");
  EXPECT_EQ(whole.outcome, Outcome::stream_error);
  EXPECT_NE(whole.error.find("the server returned an error object"), std::string::npos)
      << whole.error;
}

TEST_F(AnthropicSimTest, ItsRateLimitIsAnHttpErrorWithRetryAfter) {
  start("fault_429_rate = 1\nretry_after_s = 3\n");
  auto backend = make();
  const Response r = ask(*backend, "sim/429", "q");
  EXPECT_EQ(r.outcome, Outcome::http_error);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.retry_after_s, 3.0);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(AnthropicSimTest, ItsCutAndMalformedStreamsFail) {
  start("refusal_rate = 0\noutput_tokens = 8\nfault_malformed_rate = 1\nfault_after_events = 1\n");
  auto backend = make();
  const Response malformed = ask(*backend, "sim/m", "q");
  EXPECT_EQ(malformed.outcome, Outcome::malformed) << malformed.error;

  start(
      "refusal_rate = 0\noutput_tokens = 8\nfault_reset_mid_stream_rate = 1\n"
      "fault_after_events = 3\n");
  auto cut = make();
  const Response reset = ask(*cut, "sim/r", "q");
  EXPECT_FALSE(reset.ok());
  EXPECT_TRUE(reset.outcome == Outcome::transport_error || reset.outcome == Outcome::stream_error)
      << to_string(reset.outcome) << ": " << reset.error;
  EXPECT_EQ(reset.timing.token_events.size(), 3u);
}

}  // namespace
}  // namespace medsafe::anthropic
