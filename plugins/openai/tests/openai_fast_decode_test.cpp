// The fast decoding path must agree with the full parser on every input: it may decline, never
// differ. Checked on realistic chunks and on every single-byte mutation of them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "openai_fast_decode.hpp"
#include "openai_protocol.hpp"

namespace medsafe::openai {
namespace {

void expect_same(const Decoded& a, const Decoded& b, const std::string& input) {
  EXPECT_EQ(a.status, b.status) << input;
  EXPECT_EQ(a.message, b.message) << input;
  EXPECT_EQ(a.content, b.content) << input;
  EXPECT_EQ(a.reasoning, b.reasoning) << input;
  EXPECT_EQ(a.tool_calls, b.tool_calls) << input;
  EXPECT_EQ(a.finish_reason, b.finish_reason) << input;
  EXPECT_EQ(a.prompt_tokens, b.prompt_tokens) << input;
  EXPECT_EQ(a.completion_tokens, b.completion_tokens) << input;
}

// Chunks and bodies as servers send them; the fast path must take every one of them.
const std::vector<std::string> kStreamChunks = {
    R"({"id":"chatcmpl-8a1b","object":"chat.completion.chunk","created":1717000000,"model":"llama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})",
    R"({"id":"c","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]})",
    R"({"choices":[{"index":0,"delta":{"content":"Tab\there \"quoted\" \\ \/ \u00e9\ud83d\ude00 caf\u00E9"}}]})",
    "{\"choices\":[{\"delta\":{\"content\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}}]}",
    R"({"choices":[{"delta":{"reasoning_content":"think","content":null},"index":0}]})",
    R"({"choices":[{"delta":{"reasoning":"r2","reasoning_content":"r1"}}]})",
    R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":[1,2.5e-3,-0,true,false,null]}"}}]}}]})",
    R"({"choices":[{"index":0,"delta":{"tool_calls":[]}}]})",
    R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null})",
    R"({"id":"x","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,"prompt_tokens_details":{"cached_tokens":0}}})",
    R"({"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]})",
    "{ \"choices\" : [ { \"index\" : 0 , \"delta\" : { \"content\" : \"spaced\" } } ] }\r\n",
    R"({"choices":[{"index":0,"delta":{"content":"x"},"logprobs":{"content":[{"token":"x","logprob":-0.01,"bytes":[120],"top_logprobs":[]}]}}]})",
    R"({"choices":[{"index":0,"delta":{"content":"x"}}],"system_fingerprint":"fp_1","timings":{"predicted_ms":1.5E+2}})",
    R"({})",
};

const std::vector<std::string> kBodies = {
    R"({"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"I can't help with that."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":8,"total_tokens":28}})",
    R"({"choices":[{"message":{"content":null,"tool_calls":[{"id":"t"}]},"finish_reason":"tool_calls"}]})",
    R"({"choices":[{"index":0,"message":{"content":"a","reasoning_content":"b"}}]})",
};

// Inputs the fast path must hand to the full parser (it would decide them differently, or
// they need its error messages).
const std::vector<std::string> kDeclined = {
    R"({"error":{"message":"boom"}})",
    R"({"object":"error","message":"m"})",
    R"({"choices":[{"delta":{"content":5}}]})",
    R"({"choices":[{"delta":{"content":"a","content":"b"}}]})",
    R"({"choices":[],"choices":[]})",
    R"({"choices":[{"index":"0","delta":{"content":"x"}}]})",
    R"({"choices":[{"index":99999999999999999999,"delta":{}}]})",
    R"({"choices":[],"usage":{"completion_tokens":-1}})",
    R"({"choices":[{"delta":{"content":"\ud800"}}]})",
    "{\"choices\":[{\"delta\":{\"content\":\"bad \xff\"}}]}",
    R"({"a":01})",
    R"({"a":1.})",
    R"({"a":tru})",
    R"({"choices":[]} trailing)",
    R"([1])",
};

TEST(FastDecode, TakesTheCommonShapesAndAgreesWithTheFullParser) {
  for (const std::string& chunk : kStreamChunks) {
    const auto fast = detail::fast_decode(chunk, true);
    ASSERT_TRUE(fast.has_value()) << "declined: " << chunk;
    expect_same(*fast, detail::full_decode(chunk, true), chunk);
  }
  for (const std::string& body : kBodies) {
    const auto fast = detail::fast_decode(body, false);
    ASSERT_TRUE(fast.has_value()) << "declined: " << body;
    expect_same(*fast, detail::full_decode(body, false), body);
  }
}

TEST(FastDecode, DeclinesWhatOnlyTheFullParserMayDecide) {
  for (const std::string& text : kDeclined) {
    EXPECT_FALSE(detail::fast_decode(text, true).has_value()) << text;
    expect_same(decode_stream_chunk(text), detail::full_decode(text, true), text);
  }
  EXPECT_FALSE(detail::fast_decode(R"({"choices":[]})", false).has_value());
  EXPECT_FALSE(detail::fast_decode(R"({"id":"x"})", false).has_value());
  EXPECT_FALSE(detail::fast_decode(R"({"choices":[{"finish_reason":"stop"}]})", false).has_value());
}

// Every deletion, duplication and replacement of one byte, and every truncation.
std::vector<std::string> mutations(const std::string& text) {
  static const std::string kBytes = std::string("\"\\{}[],:0-e.n ") + "\x80\xff" + "u";
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    out.push_back(text.substr(0, i));
    out.push_back(text.substr(0, i) + text.substr(i + 1));
    out.push_back(text.substr(0, i + 1) + text.substr(i));
    for (const char c : kBytes) {
      std::string replaced = text;
      replaced[i] = c;
      out.push_back(std::move(replaced));
    }
  }
  return out;
}

TEST(FastDecode, NeverDiffersFromTheFullParserOnMutatedInput) {
  for (const std::string& chunk : kStreamChunks) {
    for (const std::string& mutated : mutations(chunk)) {
      expect_same(decode_stream_chunk(mutated), detail::full_decode(mutated, true), mutated);
      if (testing::Test::HasFailure()) return;  // one clear report, not thousands
    }
  }
  for (const std::string& body : kBodies) {
    for (const std::string& mutated : mutations(body)) {
      expect_same(decode_completion(mutated), detail::full_decode(mutated, false), mutated);
      if (testing::Test::HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace medsafe::openai
