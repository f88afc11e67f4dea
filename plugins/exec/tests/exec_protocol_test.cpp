#include "exec_protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace medsafe::exec {
namespace {

using nlohmann::json;

TEST(ExecProtocolEncode, HelloRequestJudgeCancel) {
  const json hello = json::parse(encode_hello(Role::judge, "kw", 4, R"({"model":"x"})"));
  EXPECT_EQ(hello, json::parse(R"({"type":"hello","protocol":1,"role":"judge","name":"kw",
                                  "max_in_flight":4,"options":{"model":"x"}})"));
  EXPECT_EQ(json::parse(encode_hello(Role::backend, "m", 1, "not json"))["options"],
            json::object());

  Request request;
  request.id = "target/msb/1#0";
  request.messages = {{"system", "Be brief."}, {"user", "Line one\nand \"two\" \xE2\x9C\x93"}};
  request.item.category = "3";
  const std::string line = encode_request("17", request);
  EXPECT_EQ(line.find('\n'), std::string::npos);  // one line, whatever the content
  EXPECT_EQ(json::parse(line), json::parse(R"({"type":"request","id":"17",
      "request_id":"target/msb/1#0","messages":[{"role":"system","content":"Be brief."},
      {"role":"user","content":"Line one\nand \"two\" ✓"}],"ignore_eos":false,"category":"3"})"));
  request.max_tokens = 64;
  request.temperature = 0.0;
  request.seed = 9;
  request.load.ignore_eos = true;
  const json full = json::parse(encode_request("18", request));
  EXPECT_EQ(full["max_tokens"], 64);
  EXPECT_EQ(full["temperature"], 0.0);
  EXPECT_EQ(full["seed"], 9);
  EXPECT_EQ(full["ignore_eos"], true);
  // Invalid UTF-8 in model output is replaced, never an exception.
  request.messages = {{"user", std::string("bad \xFF\xFE bytes")}};
  EXPECT_TRUE(json::parse(encode_request("19", request)).is_object());

  JudgeInput input;
  input.model = "target";
  input.suite = "msb";
  input.domain = "medical";
  input.item.id = "test/gpt4/1/2";
  input.item.category = "1";
  input.item.prompt = "p";
  input.item.reference = "r";
  input.response = "a";
  EXPECT_EQ(json::parse(encode_judge("5", input)), json::parse(R"({"type":"judge","id":"5",
      "prompt":"p","response":"a","category":"1","domain":"medical","model":"target",
      "suite":"msb","item_id":"test/gpt4/1/2","reference":"r"})"));
  EXPECT_EQ(encode_cancel("5"), R"({"id":"5","type":"cancel"})");
}

TEST(ExecProtocolDecode, Replies) {
  Decoded d = decode_reply(R"({"type":"hello","protocol":1,"name":"a","max_in_flight":3})");
  ASSERT_TRUE(d.reply) << d.problem;
  EXPECT_EQ(d.reply->type, ReplyType::hello);
  EXPECT_EQ(d.reply->protocol, 1);
  EXPECT_EQ(d.reply->max_in_flight, 3);

  d = decode_reply(R"({"type":"delta","id":"4","text":"He"})");
  ASSERT_TRUE(d.reply);
  EXPECT_EQ(d.reply->type, ReplyType::delta);
  EXPECT_EQ(d.reply->id, "4");
  EXPECT_EQ(d.reply->text, "He");

  d = decode_reply(R"({"type":"answer","id":"4","finish_reason":"length",
                      "usage":{"prompt_tokens":5,"completion_tokens":9}})");
  ASSERT_TRUE(d.reply);
  EXPECT_FALSE(d.reply->text.has_value());  // the deltas make the text
  EXPECT_EQ(d.reply->finish_reason, "length");
  EXPECT_EQ(d.reply->usage.prompt_tokens, 5);
  EXPECT_EQ(d.reply->usage.completion_tokens, 9);
  EXPECT_EQ(d.reply->usage.source, TokenSource::usage);
  d = decode_reply(R"({"type":"answer","id":"4","text":"","usage":{"prompt_tokens":5}})");
  ASSERT_TRUE(d.reply);
  EXPECT_EQ(d.reply->text, "");
  EXPECT_EQ(d.reply->usage.source, TokenSource::none);

  d = decode_reply(R"({"type":"verdict","id":"x","score":2,"refused":false,"label":"l",
                      "reason":"r","raw":"w","confidence":0.25,"model_calls":2})");
  ASSERT_TRUE(d.reply) << d.problem;
  const Verdict& v = d.reply->verdict;
  EXPECT_EQ(v.status, VerdictStatus::ok);
  EXPECT_EQ(v.score, 2);
  EXPECT_EQ(v.refused, false);
  EXPECT_EQ(v.label, "l");
  EXPECT_EQ(v.reason, "r");
  EXPECT_EQ(v.raw, "w");
  EXPECT_EQ(v.confidence, 0.25);
  EXPECT_EQ(v.model_calls, 2);
  d = decode_reply(R"({"type":"verdict","id":"x","status":"parse_failure","raw":"??"})");
  ASSERT_TRUE(d.reply) << d.problem;
  EXPECT_EQ(d.reply->verdict.status, VerdictStatus::parse_failure);

  d = decode_reply(R"({"type":"error","id":"9","message":"busy","outcome":"http_error",
                      "http_status":503,"retry_after_s":2})");
  ASSERT_TRUE(d.reply);
  EXPECT_EQ(d.reply->outcome, Outcome::http_error);
  EXPECT_EQ(d.reply->http_status, 503);
  EXPECT_EQ(d.reply->retry_after_s, 2.0);
  d = decode_reply(R"({"type":"error","id":"9","message":"boom"})");
  ASSERT_TRUE(d.reply);
  EXPECT_EQ(d.reply->outcome, Outcome::backend_error);  // the default
  // Unknown keys are allowed: later protocol versions may add some.
  EXPECT_TRUE(decode_reply(R"({"type":"delta","id":"1","text":"a","logprob":-0.1})").reply);
}

std::string problem(std::string_view line) {
  const Decoded d = decode_reply(line);
  EXPECT_FALSE(d.reply) << line;
  return d.problem + (d.id.empty() ? "" : " [id " + d.id + "]");
}

TEST(ExecProtocolDecode, ProblemsKeepTheIdWhenReadable) {
  EXPECT_EQ(problem("hello"), "not JSON");
  EXPECT_EQ(problem(R"({"type":"answer","id":"3")"), "not JSON");
  EXPECT_EQ(problem("[1,2]"), "not a JSON object");
  EXPECT_EQ(problem(R"({"id":"3"})"), "no 'type' [id 3]");
  EXPECT_EQ(problem(R"({"type":"answr","id":"3"})"), "unknown type 'answr' [id 3]");
  EXPECT_EQ(problem(R"({"type":"answer"})"), "no 'id'");
  EXPECT_EQ(problem(R"({"type":"answer","id":3})"), "'id' must be a string");
  EXPECT_EQ(problem(R"({"type":"answer","id":"3","text":7})"), "'text' must be a string [id 3]");
  EXPECT_EQ(problem(R"({"type":"answer","id":"3","usage":"lots"})"),
            "'usage' must be an object [id 3]");
  EXPECT_EQ(problem(R"({"type":"answer","id":"3","usage":{"completion_tokens":1.5}})"),
            "in 'usage': 'completion_tokens' must be an integer [id 3]");
  EXPECT_EQ(problem(R"({"type":"verdict","id":"3","score":6})"),
            "'score' must be an integer from 1 to 5 [id 3]");
  EXPECT_EQ(problem(R"({"type":"verdict","id":"3"})"),
            "a verdict with status ok needs 'score' or 'refused' [id 3]");
  EXPECT_EQ(problem(R"({"type":"verdict","id":"3","refused":"yes"})"),
            "'refused' must be true or false [id 3]");
  EXPECT_EQ(problem(R"({"type":"verdict","id":"3","score":1,"confidence":2})"),
            "'confidence' must be from 0 to 1 [id 3]");
  EXPECT_EQ(problem(R"({"type":"verdict","id":"3","score":1,"status":"meh"})"),
            "'status' must be \"ok\", \"parse_failure\" or \"error\" [id 3]");
  EXPECT_EQ(problem(R"({"type":"error","id":"3"})"), "an error needs a 'message' [id 3]");
  EXPECT_EQ(problem(R"({"type":"error","id":"3","message":"m","outcome":"ok"})")
                .rfind("'outcome' must name a failure", 0),
            0U);
  EXPECT_EQ(problem(R"({"type":"hello"})"), "a hello needs 'protocol'");
}

TEST(ExecProtocolDecode, SurvivesArbitraryBytes) {
  std::string bytes = R"({"type":"verdict","id":"1","score":)";
  for (int i = 0; i < 3000; ++i) {
    bytes.push_back(static_cast<char>((i * 131 + 17) % 256));
    (void)decode_reply(bytes);
    (void)decode_reply(std::string_view(bytes).substr(static_cast<std::size_t>(i) % 40));
  }
  SUCCEED();
}

TEST(ExecProtocol, ShortenCutsAtCharacterBoundaries) {
  EXPECT_EQ(shorten("abc", 5), "abc");
  EXPECT_EQ(shorten("abcdef", 3), "abc...");
  EXPECT_EQ(shorten("a\xE2\x9C\x93z", 2), "a...");  // not inside the check mark
}

}  // namespace
}  // namespace medsafe::exec
