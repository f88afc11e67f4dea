// What the openai backend makes of a hostile server's 200 answers. Unreadable ones are
// reported by what arrived (content type, first bytes escaped, size), not by a guessed cause: a
// body that is neither JSON nor SSE is not "cut inside an event", one led by a NUL did not "end".
// An answer longer than the request's max_response_bytes, streamed or not, is cut there (at a
// UTF-8 boundary) and flagged truncated, without the whole body being buffered: a body past the
// wire bound is read from its beginning, a stream is ended at the bound.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsafe/json_text.hpp"
#include "openai_backend.hpp"
#include "support/scripted_backend.hpp"

namespace medsafe::openai {
namespace {

using nlohmann::json;

constexpr std::size_t kLimit = 1000;

class OpenAiHostile : public ::testing::Test {
 protected:
  Response ask(test::Script script, bool stream, std::size_t limit = 0) {
    return test::ask_scripted<OpenAiBackend>(
        server_, transport_, MEDSAFE_OPENAI_MANIFEST,
        std::string("model = \"m\"\nstream = ") + (stream ? "true" : "false") + "\n",
        std::move(script), limit);
  }
  Response ask_bounded(test::Script script, bool stream) {
    return ask(std::move(script), stream, kLimit);
  }

  static std::string body_with(const std::string& content) {
    return json{{"choices",
                 {{{"index", 0},
                   {"message", {{"role", "assistant"}, {"content", content}}},
                   {"finish_reason", "stop"}}}},
                {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 9}}}}
        .dump();
  }

  static std::string chunk(const std::string& content) {
    return "data: " +
           json{{"choices", {{{"index", 0}, {"delta", {{"content", content}}}}}}}.dump() + "\n\n";
  }

  test::ScriptedServer server_;
  HttpTransport transport_;
};

TEST_F(OpenAiHostile, AnEventStreamWithoutEventsSaysWhatArrived) {
  const Response r = ask(
      test::http_response(200, "garbage garbage garbage", {{"Content-Type", "text/event-stream"}}),
      true);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error,
            "the stream ended without a single event (nor [DONE]): 23 bytes of "
            "text/event-stream, beginning \"garbage garbage garbage\"");
}

TEST_F(OpenAiHostile, ANulLedStreamShowsTheNul) {
  const Response r = ask(test::http_response(200, std::string("\0data: x\n\n", 10),
                                             {{"Content-Type", "text/event-stream"}}),
                         true);
  EXPECT_EQ(r.outcome, Outcome::stream_error);
  EXPECT_EQ(r.error,
            "the stream ended without a single event (nor [DONE]): 10 bytes of "
            "text/event-stream, beginning \"\\x00data: x\\x0A\\x0A\"");
}

TEST_F(OpenAiHostile, ANulLedBodyIsNotEndOfInput) {
  const Response r = ask(test::http_response(200, std::string("\0{\"choices\":[]}", 15)), false);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_EQ(r.error,
            "the body is not valid JSON: a NUL byte at offset 0 (15 bytes of application/json, "
            "beginning \"\\x00{\\\"choices\\\":[]}\")");
  EXPECT_EQ(r.error.find("end of input"), std::string::npos);
}

TEST_F(OpenAiHostile, AnHtmlPageForAStreamNamesItsTypeAndBeginning) {
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

TEST_F(OpenAiHostile, ALongBinaryBodyIsQuotedShortAndEscaped) {
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

TEST_F(OpenAiHostile, ABodyFarPastTheBoundIsReadFromItsBeginning) {
  // 100 times the wire bound: never buffered whole.
  const std::string answer(wire_bytes_for(kLimit) * 100, 'a');
  const Response r = ask_bounded(test::http_response(200, body_with(answer)), false);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.text, std::string(kLimit, 'a'));
}

TEST_F(OpenAiHostile, ABodyWithinTheWireBoundIsCutToTheAnswerBound) {
  const Response r =
      ask_bounded(test::http_response(200, body_with(std::string(3 * kLimit, 'b'))), false);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.text, std::string(kLimit, 'b'));
  EXPECT_EQ(r.usage.completion_tokens, 9) << "a whole body still gives its usage";
}

TEST_F(OpenAiHostile, AnAnswerWithinTheBoundIsWholeAndNotFlagged) {
  const Response r =
      ask_bounded(test::http_response(200, body_with(std::string(kLimit, 'c'))), false);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(r.text.size(), kLimit);
}

TEST_F(OpenAiHostile, TheCutNeverSplitsACharacter) {
  std::string euros;
  for (int i = 0; i < 1000; ++i) euros += "\xE2\x82\xAC";  // 3 bytes each: 1000 is no multiple
  const Response r = ask_bounded(test::http_response(200, body_with(euros)), false);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.text.size(), 999u);
  EXPECT_EQ(utf8_prefix_length(r.text, r.text.size()), r.text.size());
  EXPECT_EQ(r.text.substr(996), "\xE2\x82\xAC");
}

TEST_F(OpenAiHostile, AStreamIsEndedAtTheBound) {
  std::vector<std::string> pieces;
  for (int i = 0; i < 400; ++i) pieces.push_back(chunk(std::string(10, 'd')));
  pieces.push_back("data: [DONE]\n\n");
  const Response r = ask_bounded(test::sse_chunked(pieces), true);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.text, std::string(kLimit, 'd'));
  // The events up to the bound count, and the one that found it full (it did arrive); the
  // stream was not read to its end.
  EXPECT_EQ(r.timing.token_events.size(), kLimit / 10 + 1);
  EXPECT_EQ(r.usage.source, TokenSource::events);
}

TEST_F(OpenAiHostile, OneHugeStreamEventIsCutAndItsTextKept) {
  const std::string huge = chunk(std::string(wire_bytes_for(kLimit) * 20, 'e'));
  const Response r = ask_bounded(test::sse_chunked({chunk("Hi "), huge, "data: [DONE]\n\n"}), true);
  EXPECT_EQ(r.outcome, Outcome::ok) << r.error;
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.text, "Hi " + std::string(kLimit - 3, 'e'));
  EXPECT_EQ(r.timing.token_events.size(), 2u);
}

TEST_F(OpenAiHostile, ACutBodyWithoutAnswerTextIsMalformedAndSaysSo) {
  const std::string body = "{\"padding\":\"" + std::string(wire_bytes_for(kLimit) * 2, ' ') +
                           "\",\"choices\":[{\"message\":{\"content\":\"late\"}}]}";
  const Response r = ask_bounded(test::http_response(200, body), false);
  EXPECT_EQ(r.outcome, Outcome::malformed);
  EXPECT_NE(r.error.find("the body outgrew the " + std::to_string(wire_bytes_for(kLimit)) +
                         " bytes kept (max_response_bytes) before any answer text"),
            std::string::npos)
      << r.error;
  EXPECT_FALSE(r.truncated);
}

}  // namespace
}  // namespace medsafe::openai
