// What the anthropic backend makes of a hostile server's 200 answers: unreadable ones are
// reported by what arrived (content type, first bytes escaped, size); an answer longer than the
// request's max_response_bytes, streamed or not, is cut there and flagged truncated.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "anthropic_backend.hpp"
#include "support/scripted_backend.hpp"

namespace medsafe::anthropic {
namespace {

using nlohmann::json;

constexpr std::size_t kLimit = 1000;

Response ask(test::ScriptedServer& server, HttpTransport& transport, std::size_t limit,
             test::Script script, bool stream) {
  return test::ask_scripted<AnthropicBackend>(
      server, transport, MEDSAFE_ANTHROPIC_MANIFEST,
      std::string("model = \"claude-test\"\nstream = ") + (stream ? "true" : "false") + "\n",
      std::move(script), limit);
}

std::string event(const std::string& type, const json& data) {
  return "event: " + type + "\ndata: " + data.dump() + "\n\n";
}

TEST(AnthropicHostile, AnEventStreamWithoutEventsSaysWhatArrived) {
  test::ScriptedServer server;
  HttpTransport transport;
  const Response r =
      ask(server, transport, 0,
          test::http_response(200, "not an event", {{"Content-Type", "text/event-stream"}}), true);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error,
            "the stream ended without a single event (nor message_stop): 12 bytes of "
            "text/event-stream, beginning \"not an event\"");
}

TEST(AnthropicHostile, ANulLedBodyIsNotEndOfInput) {
  test::ScriptedServer server;
  HttpTransport transport;
  const Response r =
      ask(server, transport, 0, test::http_response(200, std::string("\0\0{}", 4)), false);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_EQ(r.error,
            "the body is not valid JSON: a NUL byte at offset 0 (4 bytes of application/json, "
            "beginning \"\\x00\\x00{}\")");
}

TEST(AnthropicHostile, AHugeBodyIsReadFromItsTextBlocks) {
  const std::string body = json{
      {"type", "message"},
      {"content",
       {{{"type", "text"}, {"text", "Intro. "}},
        {{"type", "text"}, {"text", std::string(wire_bytes_for(kLimit) * 30, 'a')}}}},
      {"stop_reason",
       "end_turn"}}.dump();
  test::ScriptedServer server;
  HttpTransport transport;
  const Response r = ask(server, transport, kLimit, test::http_response(200, body), false);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.text, "Intro. " + std::string(kLimit - 7, 'a'));
}

TEST(AnthropicHostile, AStreamIsEndedAtTheBound) {
  std::vector<std::string> pieces = {
      event("message_start",
            {{"type", "message_start"}, {"message", {{"content", json::array()}}}}),
      event("content_block_start", {{"type", "content_block_start"},
                                    {"index", 0},
                                    {"content_block", {{"type", "text"}, {"text", ""}}}})};
  for (int i = 0; i < 300; ++i) {
    pieces.push_back(event("content_block_delta",
                           {{"type", "content_block_delta"},
                            {"index", 0},
                            {"delta", {{"type", "text_delta"}, {"text", std::string(10, 'b')}}}}));
  }
  pieces.push_back(event("message_stop", {{"type", "message_stop"}}));
  test::ScriptedServer server;
  HttpTransport transport;
  const Response r = ask(server, transport, kLimit, test::sse_chunked(pieces), true);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.text, std::string(kLimit, 'b'));
}

TEST(AnthropicHostile, OneHugeDeltaIsCutAndItsTextKept) {
  const std::string huge =
      event("content_block_delta",
            {{"type", "content_block_delta"},
             {"index", 0},
             {"delta",
              {{"type", "text_delta"}, {"text", std::string(wire_bytes_for(kLimit) * 5, 'c')}}}});
  test::ScriptedServer server;
  HttpTransport transport;
  const Response r = ask(server, transport, kLimit, test::sse_chunked({huge}), true);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.text, std::string(kLimit, 'c'));
}

}  // namespace
}  // namespace medsafe::anthropic
