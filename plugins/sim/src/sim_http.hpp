#pragma once
/// HTTP/1.1 and JSON text helpers of `medsafe-sim-server` (internal to the server).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "medsafe/json_text.hpp"  // append_json_string
#include "medsafe/text.hpp"       // iequals

namespace medsafe::sim {

/// Largest request head and body the server accepts.
inline constexpr std::size_t kMaxHeaderBytes = std::size_t{64} << 10;
inline constexpr std::size_t kMaxBodyBytes = std::size_t{64} << 20;

/// Appends `value` in decimal.
void append_int(std::string& out, std::int64_t value);

/// The reason phrase of an HTTP status ("OK", "Too Many Requests", ...).
[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

/// What the server needs of a request head. Views point into the connection's input buffer.
struct RequestHead {
  std::string_view method;
  std::string_view path;  ///< without the query string
  std::size_t header_bytes = 0;
  std::size_t content_length = 0;
  bool keep_alive = true;
  bool expect_continue = false;
  std::string_view request_id;         ///< X-Request-Id (at most 200 bytes)
  std::string_view authorization;      ///< Authorization
  std::string_view api_key;            ///< x-api-key (Anthropic)
  std::string_view anthropic_version;  ///< anthropic-version
};

enum class HeadStatus : std::uint8_t { incomplete, complete, bad };

/// A parsed head, or why it could not be parsed.
struct HeadResult {
  HeadStatus status = HeadStatus::incomplete;
  RequestHead head;
  int error_status = 400;
  std::string_view error;
};

/// Parses the head at the start of `buffer`: incomplete until its blank line has arrived; bad
/// (with a status) for what HTTP/1.1 forbids or this server does not support.
[[nodiscard]] HeadResult parse_head(std::string_view buffer);

}  // namespace medsafe::sim
