#pragma once
/// The OpenAI chat-completions wire format as pure functions: no I/O, no clocks (except what a
/// caller passes in), so they can be unit-tested, benchmarked and fuzzed on their own.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "medsafe/backend.hpp"
#include "medsafe/http/backend_base.hpp"
#include "medsafe/http/wire_text.hpp"

namespace medsafe::openai {

/// What a request body is built from besides the request itself (the backend's configuration).
struct BodySettings {
  std::string model;
  bool stream = true;
  bool include_usage = true;  ///< sends stream_options.include_usage when streaming
  double temperature = 0.0;
  std::int64_t max_tokens = 1024;  ///< 0 leaves the field out
  std::optional<double> top_p;
  std::string system_prompt;                             ///< empty: none
  nlohmann::json extra_body = nlohmann::json::object();  ///< merged in as a JSON merge patch
};

/// The JSON body of a chat-completions request. The request's temperature, max_tokens and
/// seed override the settings. Invalid UTF-8 in messages is replaced, never an exception.
[[nodiscard]] std::string build_request_body(const Request& request, const BodySettings& settings);

using http_backend::DecodeStatus;  ///< ok, error_object (`message`) or malformed (`message`)

/// What one stream chunk or one non-streaming body says.
struct Decoded {
  DecodeStatus status = DecodeStatus::ok;
  std::string message;      ///< for error_object and malformed
  std::string content;      ///< the answer's text (choice 0)
  std::string reasoning;    ///< reasoning_content / reasoning (choice 0)
  bool tool_calls = false;  ///< choice 0 carries a non-empty tool_calls array
  std::string finish_reason;
  std::int64_t prompt_tokens = -1;      ///< from usage, -1 when absent
  std::int64_t completion_tokens = -1;  ///< from usage, -1 when absent

  /// A token-bearing chunk: non-empty content, reasoning or tool calls.
  [[nodiscard]] bool token_bearing() const noexcept {
    return !content.empty() || !reasoning.empty() || tool_calls;
  }
};

/// Decodes the data of one SSE event of a chat-completions stream (not "[DONE]").
[[nodiscard]] Decoded decode_stream_chunk(std::string_view data);

/// Decodes a non-streaming chat-completions response body.
[[nodiscard]] Decoded decode_completion(std::string_view body);

// Shared with every HTTP backend (medsafe/http/wire_text.hpp): part of this API too.
using http_backend::error_message;
using http_backend::excerpt;
using http_backend::parse_retry_after;

}  // namespace medsafe::openai
