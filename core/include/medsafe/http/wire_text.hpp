#pragma once
/// Text helpers every HTTP backend needs, as pure functions: JSON number writing (strings: see
/// medsafe/json_text.hpp),
/// sanitising hostile text for error messages, the human message of an error payload, and
/// Retry-After. No I/O, no clocks except what a caller passes in.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "medsafe/export.hpp"
#include "medsafe/json_text.hpp"

namespace medsafe::http_backend {

/// Appends the shortest JSON number that reads back as `value`; null when it is not finite.
MEDSAFE_API void append_json_number(std::string& out, double value);

/// A single-line, valid UTF-8 excerpt of hostile text: control characters become spaces,
/// whitespace runs collapse, invalid UTF-8 becomes '?', and at most `limit` bytes are kept
/// ("..." marks a cut).
[[nodiscard]] MEDSAFE_API std::string excerpt(std::string_view text, std::size_t limit = 300);

/// Hostile bytes quoted exactly, for saying what arrived: in double quotes, printable ASCII as
/// it is (quote and backslash escaped), every other byte as \xNN (so NULs, control characters,
/// bidi controls and invalid UTF-8 are all visible), at most `limit` bytes ("..." marks a cut).
[[nodiscard]] MEDSAFE_API std::string quoted_bytes(std::string_view bytes, std::size_t limit = 48);

/// What a body that could not be read was: "23 bytes of text/event-stream, beginning
/// \"garbage\"", "an empty body of application/json", "15 bytes without a Content-Type, ...".
/// `content_type` is the header's value ("" when there was none); `head` its first bytes.
[[nodiscard]] MEDSAFE_API std::string describe_body(std::string_view content_type,
                                                    std::uint64_t bytes, std::string_view head);

/// The human message of an error payload: error.message (OpenAI, Anthropic), a string "error",
/// a top-level "message" or "detail", or else an excerpt of the text itself. Always sanitised.
[[nodiscard]] MEDSAFE_API std::string error_message(std::string_view payload);

/// The human message of an already parsed error payload (see error_message), sanitised;
/// nullopt when it has none.
[[nodiscard]] MEDSAFE_API std::optional<std::string> error_message_in(const nlohmann::json& root);

/// Seconds to wait from a Retry-After value: delay-seconds ("120", also "1.5") or an
/// HTTP-date (IMF-fixdate, RFC 850 or asctime form) relative to `now`; a date in the past
/// gives 0. Nullopt when the value is neither.
[[nodiscard]] MEDSAFE_API std::optional<double> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace medsafe::http_backend
