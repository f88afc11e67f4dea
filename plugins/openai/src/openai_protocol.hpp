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

enum class DecodeStatus : std::uint8_t {
  ok,            ///< a well-formed chunk or body
  error_object,  ///< the server sent an error object ({"error": ...}); `message` is its text
  malformed,     ///< not decodable; `message` says what was wrong
};

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

/// The human message of an error payload: error.message, a string "error", a top-level
/// "message", or else an excerpt of the text itself. Always sanitised (see excerpt()).
[[nodiscard]] std::string error_message(std::string_view payload);

/// A single-line, valid UTF-8 excerpt of hostile text: control characters become spaces,
/// whitespace runs collapse, invalid UTF-8 becomes '?', and at most `limit` bytes are kept
/// ("..." marks a cut).
[[nodiscard]] std::string excerpt(std::string_view text, std::size_t limit = 300);

/// Seconds to wait from a Retry-After value: delay-seconds ("120", also "1.5") or an
/// HTTP-date (IMF-fixdate, RFC 850 or asctime form) relative to `now`; a date in the past
/// gives 0. Nullopt when the value is neither.
[[nodiscard]] std::optional<double> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

}  // namespace medsafe::openai
