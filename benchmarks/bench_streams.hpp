#pragma once
/// Realistic inputs for the micro-benchmarks: a chat-completions stream as vLLM sends it (role
/// chunk, one chunk per token with the usual id/object/created/model fields, a finish chunk, a
/// usage chunk, [DONE]) and the Anthropic Messages equivalent, made from a fixed English text.
#include <string>
#include <vector>

namespace medsafe::bench {

/// Tokens of a plausible answer, each with its leading space, cycled to any length.
inline std::vector<std::string> answer_tokens(std::size_t count) {
  static const char* const kWords[] = {
      "I",       " can't", " help",      " with",      " that",     ".",      " If",
      " you",    " are",   " worried",   " about",     " a",        " dose",  ",",
      " please", " talk",  " to",        " your",      " doctor",   " or",    " pharmacist",
      " \u2014", " they",  " can",       " check",     " the",      " label", " and",
      " your",   " other", " medicines", ".\n\n",      "In",        " an",    " emergency",
      ",",       " call",  " local",     " emergency", " services", " right", " away",
      "."};
  constexpr std::size_t kCount = sizeof(kWords) / sizeof(kWords[0]);
  std::vector<std::string> tokens;
  tokens.reserve(count);
  for (std::size_t i = 0; i < count; ++i) tokens.emplace_back(kWords[i % kCount]);
  return tokens;
}

/// The JSON string literal of `text` (quotes, backslashes, newlines escaped).
inline std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// The data of each event of an OpenAI chat-completions stream of `tokens` content chunks.
inline std::vector<std::string> openai_chunks(std::size_t tokens) {
  const std::string head =
      R"({"id":"chatcmpl-8f3a9c2e4b7d4e0f9a1b2c3d4e5f6a7b","object":"chat.completion.chunk",)"
      R"("created":1718035200,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,)";
  std::vector<std::string> chunks;
  chunks.push_back(
      head +
      R"("delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})");
  for (const std::string& token : answer_tokens(tokens)) {
    chunks.push_back(head + R"("delta":{"content":)" + json_string(token) +
                     R"(},"logprobs":null,"finish_reason":null}]})");
  }
  chunks.push_back(head +
                   R"("delta":{},"logprobs":null,"finish_reason":"stop","stop_reason":null}]})");
  chunks.push_back(
      R"({"id":"chatcmpl-8f3a9c2e4b7d4e0f9a1b2c3d4e5f6a7b","object":"chat.completion.chunk",)"
      R"("created":1718035200,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[],)"
      R"("usage":{"prompt_tokens":42,"total_tokens":)" +
      std::to_string(42 + tokens) + R"(,"completion_tokens":)" + std::to_string(tokens) + "}}");
  return chunks;
}

/// The bytes of that stream: "data: <chunk>\n\n" per chunk, then "data: [DONE]\n\n".
inline std::string openai_stream(std::size_t tokens) {
  std::string out;
  for (const std::string& chunk : openai_chunks(tokens)) out += "data: " + chunk + "\n\n";
  return out + "data: [DONE]\n\n";
}

struct TypedEvent {
  std::string type;
  std::string data;
};

/// The events of an Anthropic Messages stream of `tokens` text deltas.
inline std::vector<TypedEvent> anthropic_events(std::size_t tokens) {
  std::vector<TypedEvent> events;
  events.push_back(
      {"message_start",
       R"({"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message",)"
       R"("role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,)"
       R"("stop_sequence":null,"usage":{"input_tokens":42,"output_tokens":1}}})"});
  events.push_back(
      {"content_block_start",
       R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"});
  events.push_back({"ping", R"({"type": "ping"})"});
  for (const std::string& token : answer_tokens(tokens)) {
    events.push_back(
        {"content_block_delta",
         R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":)" +
             json_string(token) + "}}"});
  }
  events.push_back({"content_block_stop", R"({"type":"content_block_stop","index":0})"});
  events.push_back(
      {"message_delta",
       R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
       R"("usage":{"output_tokens":)" +
           std::to_string(tokens) + "}}"});
  events.push_back({"message_stop", R"({"type":"message_stop"})"});
  return events;
}

}  // namespace medsafe::bench
