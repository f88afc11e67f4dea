#pragma once
/// The Anthropic Messages API wire format as pure functions: no I/O, no clocks, so they can be
/// unit-tested, benchmarked and fuzzed on their own.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "medsafe/backend.hpp"
#include "medsafe/http/backend_base.hpp"

namespace medsafe::anthropic {

/// What a request body is built from besides the request itself (the backend's configuration).
struct BodySettings {
  std::string model;
  bool stream = true;
  double temperature = 0.0;
  std::int64_t max_tokens = 1024;  ///< the API requires it: always sent, at least 1
  std::optional<double> top_p;
  std::string system_prompt;                             ///< empty: none
  nlohmann::json extra_body = nlohmann::json::object();  ///< merged in as a JSON merge patch
};

/// The JSON body of a Messages request. System messages of the request go to the top-level
/// "system" field (joined by a blank line; else `settings.system_prompt`), the rest stay in
/// order. The request's temperature and max_tokens override the settings; its seed is not sent
/// (the API has none); `ignore_eos` is sent only when the request asks for it. Invalid UTF-8 is
/// replaced, never an exception.
[[nodiscard]] std::string build_request_body(const Request& request, const BodySettings& settings);

using http_backend::DecodeStatus;  ///< ok, error_object (`message`) or malformed (`message`)

/// The stream event types of the Messages API; `other` is a type this decoder does not know
/// (the API may add some: they are ignored, as its versioning policy asks).
enum class EventKind : std::uint8_t {
  message_start,
  content_block_start,
  content_block_delta,
  content_block_stop,
  message_delta,
  message_stop,
  ping,
  error,
  other,
};

/// What one stream event or one non-streaming body says.
struct Decoded {
  DecodeStatus status = DecodeStatus::ok;
  std::string message;  ///< for error_object and malformed
  EventKind kind = EventKind::other;
  std::string text;                 ///< answer text: text_delta, a text block (never thinking)
  bool token_bearing = false;       ///< carries generated text, thinking or tool input
  std::string stop_reason;          ///< as the API says it ("end_turn", "max_tokens", ...)
  std::int64_t input_tokens = -1;   ///< prompt tokens (cache reads and writes included)
  std::int64_t output_tokens = -1;  ///< from message_delta or the body; -1 when absent
};

/// Decodes one SSE event of a Messages stream; `event_type` is its "event:" field (when empty,
/// the data's "type" decides).
[[nodiscard]] Decoded decode_event(std::string_view event_type, std::string_view data);

/// Decodes a non-streaming Messages response body.
[[nodiscard]] Decoded decode_message(std::string_view body);

/// The stop reason in the vocabulary the rest of medsafe uses (OpenAI's): end_turn and
/// stop_sequence → "stop", max_tokens → "length", tool_use → "tool_calls"; others unchanged.
[[nodiscard]] std::string finish_reason_of(std::string_view stop_reason);

}  // namespace medsafe::anthropic
