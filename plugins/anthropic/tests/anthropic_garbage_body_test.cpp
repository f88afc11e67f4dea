// What a hostile server's unreadable 200 answer is reported as, for the Messages API: what
// arrived (content type, first bytes escaped, size), not a guessed cause.
#include <gtest/gtest.h>

#include <string>

#include "anthropic_backend.hpp"
#include "engine/manifest.hpp"
#include "medsafe/http.hpp"
#include "support/backend_test_support.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::anthropic {
namespace {

Response ask(test::ScriptedServer& server, HttpTransport& transport, test::Script script,
             bool stream) {
  server.enqueue(std::move(script));
  const ConfigSchema schema = read_manifest(MEDSAFE_ANTHROPIC_MANIFEST).config;
  const Config config = Config::from_toml(
      "base_url = \"" + server.base_url() +
          "/v1\"\nmodel = \"claude-test\"\nstream = " + (stream ? "true" : "false") + "\n",
      schema, "run.toml");
  test::CapturingLog log;
  const ComponentContext context{"target", config, transport, log, nullptr, {}, 0};
  AnthropicBackend backend(context);
  test::Waiter waiter;
  Request request;
  request.id = "target/s/1#0";
  request.messages = {{"user", "hi"}};
  backend.submit(std::move(request), waiter.callback());
  return waiter.wait();
}

TEST(AnthropicGarbageBody, AnEventStreamWithoutEventsSaysWhatArrived) {
  test::ScriptedServer server;
  HttpTransport transport;
  const Response r =
      ask(server, transport,
          test::http_response(200, "not an event", {{"Content-Type", "text/event-stream"}}), true);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error,
            "the stream ended without a single event (nor message_stop): 12 bytes of "
            "text/event-stream, beginning \"not an event\"");
}

TEST(AnthropicGarbageBody, ANulLedBodyIsNotEndOfInput) {
  test::ScriptedServer server;
  HttpTransport transport;
  const Response r =
      ask(server, transport, test::http_response(200, std::string("\0\0{}", 4)), false);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_EQ(r.error,
            "the body is not valid JSON: a NUL byte at offset 0 (4 bytes of application/json, "
            "beginning \"\\x00\\x00{}\")");
}

}  // namespace
}  // namespace medsafe::anthropic
