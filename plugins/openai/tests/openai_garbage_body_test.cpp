// What a hostile server's unreadable 200 answer is reported as: the message says what arrived
// (its content type, its first bytes escaped, its size) rather than guess a cause: a body that
// is neither JSON nor SSE is not "cut inside an event", and one led by a NUL byte did not "end".
#include <gtest/gtest.h>

#include <string>

#include "engine/manifest.hpp"
#include "medsafe/http.hpp"
#include "openai_backend.hpp"
#include "support/backend_test_support.hpp"
#include "support/scripted_server.hpp"

namespace medsafe::openai {
namespace {

class OpenAiGarbageBody : public ::testing::Test {
 protected:
  Response ask(test::Script script, bool stream) {
    server_.enqueue(std::move(script));
    const ConfigSchema schema = read_manifest(MEDSAFE_OPENAI_MANIFEST).config;
    const Config config = Config::from_toml(
        "base_url = \"" + server_.base_url() +
            "/v1\"\nmodel = \"m\"\nstream = " + (stream ? "true" : "false") + "\n",
        schema, "run.toml");
    const ComponentContext context{"target", config, transport_, log_, nullptr, {}, 0};
    OpenAiBackend backend(context);
    test::Waiter waiter;
    Request request;
    request.id = "target/s/1#0";
    request.messages = {{"user", "hi"}};
    backend.submit(std::move(request), waiter.callback());
    return waiter.wait();
  }

  test::ScriptedServer server_;
  HttpTransport transport_;
  test::CapturingLog log_;
};

TEST_F(OpenAiGarbageBody, AnEventStreamWithoutEventsSaysWhatArrived) {
  const Response r = ask(
      test::http_response(200, "garbage garbage garbage", {{"Content-Type", "text/event-stream"}}),
      true);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error,
            "the stream ended without a single event (nor [DONE]): 23 bytes of "
            "text/event-stream, beginning \"garbage garbage garbage\"");
}

TEST_F(OpenAiGarbageBody, ANulLedStreamShowsTheNul) {
  const Response r = ask(test::http_response(200, std::string("\0data: x\n\n", 10),
                                             {{"Content-Type", "text/event-stream"}}),
                         true);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error,
            "the stream ended without a single event (nor [DONE]): 10 bytes of "
            "text/event-stream, beginning \"\\x00data: x\\x0A\\x0A\"");
}

TEST_F(OpenAiGarbageBody, ANulLedBodyIsNotEndOfInput) {
  const Response r = ask(test::http_response(200, std::string("\0{\"choices\":[]}", 15)), false);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_EQ(r.error,
            "the body is not valid JSON: a NUL byte at offset 0 (15 bytes of application/json, "
            "beginning \"\\x00{\\\"choices\\\":[]}\")");
  EXPECT_EQ(r.error.find("end of input"), std::string::npos);
}

TEST_F(OpenAiGarbageBody, AnHtmlPageForAStreamNamesItsTypeAndBeginning) {
  const std::string page = "<html><body>502 Bad Gateway</body></html>";
  const Response r = ask(test::http_response(200, page, {{"Content-Type", "text/html"}}), true);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_EQ(r.error.rfind("the body is not valid JSON: ", 0), 0u) << r.error;
  EXPECT_NE(r.error.find("(41 bytes of text/html, beginning \"<html><body>502 Bad Gateway</body>"
                         "</html>\")"),
            std::string::npos)
      << r.error;
  EXPECT_EQ(r.error.find("cut inside an event"), std::string::npos);
}

TEST_F(OpenAiGarbageBody, ALongBinaryBodyIsQuotedShortAndEscaped) {
  std::string body = "\xEF\xBB\xBF\xE2\x80\xAE";  // a BOM, then a right-to-left override
  body += std::string(100, 'z');
  const Response r = ask(test::http_response(200, body, {}), false);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_NE(r.error.find("(106 bytes without a Content-Type, beginning \"\\xEF\\xBB\\xBF\\xE2\\x80"
                         "\\xAE" +
                         std::string(42, 'z') + "\"...)"),
            std::string::npos)
      << r.error;
}

}  // namespace
}  // namespace medsafe::openai
