#pragma once
/// The APIs `medsafe-sim-server` speaks (internal to the server): how a request body is decoded
/// and how answers, streams and errors are encoded. The loop's timing, framing, faults and logging
/// are the same for every API.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsafe/backend.hpp"
#include "sim_faults.hpp"
#include "sim_model.hpp"

namespace medsafe::sim {

class WireFormat;

/// A chat request's fields, decoded from its JSON body by a WireFormat.
struct ApiRequest {
  std::vector<Message> messages;  ///< a system prompt, when given, first with role "system"
  std::string model;
  bool stream = false;
  bool include_usage = false;  ///< OpenAI: stream_options.include_usage
  bool ignore_eos = false;
  std::optional<std::int64_t> max_tokens;
  std::optional<std::uint64_t> seed;
};

/// One chat request from its arrival to its last byte.
struct Exchange {
  const WireFormat* format = nullptr;
  Answer answer;
  std::string request_id;
  std::string chunk_prefix;  ///< per-request text every stream event starts with (format's own)
  std::string completion_id;
  std::string model;  ///< as a JSON string literal
  std::int64_t created = 0;
  bool stream = false;
  bool include_usage = false;
  std::int64_t received_ns = 0;
  std::int64_t start_ns = 0;
  std::int64_t first_event_ns = 0;
  std::size_t next_event = 0;
  std::vector<std::int64_t> event_ns;
  int attempt = 1;  ///< the n-th request with this id (1 without fault injection)
  bool authorized = false;
  int on_connection = 1;  ///< the n-th chat request on its connection
  FaultKind fault = FaultKind::none;
  bool fault_pending = false;  ///< a mid-stream fault that has not struck yet
  std::size_t fault_at = 0;    ///< the event index it strikes before
};

/// How an API decodes requests and encodes answers.
class WireFormat {
 public:
  virtual ~WireFormat() = default;
  /// "openai" or "anthropic": the API's name in the log.
  [[nodiscard]] virtual std::string_view api() const noexcept = 0;
  /// Decodes a request body; returns why it is invalid, or nothing.
  [[nodiscard]] virtual std::optional<std::string> decode(const nlohmann::json& doc,
                                                          ApiRequest& out) const = 0;
  /// Called once per request before any event: fills per-request caches. `serial` numbers the
  /// server's requests.
  virtual void prepare(Exchange& ex, std::uint64_t serial) const = 0;
  /// Stream events sent with the headers, before any content.
  virtual void stream_start(const Exchange& ex, std::string& out) const = 0;
  /// One content event.
  virtual void stream_event(const Exchange& ex, std::string_view text, std::string& out) const = 0;
  /// Everything after the last content event.
  virtual void stream_end(const Exchange& ex, std::string& out) const = 0;
  /// The whole non-streaming body.
  virtual void body(const Exchange& ex, std::string& out) const = 0;
  /// The JSON body of an error response with HTTP `status`.
  [[nodiscard]] virtual std::string error_body(int status, std::string_view message) const = 0;
  /// An in-band error event of a stream (the error_event fault).
  virtual void stream_error(const Exchange& ex, std::string& out) const = 0;
};

/// OpenAI chat completions (POST /v1/chat/completions).
[[nodiscard]] const WireFormat& openai_format() noexcept;
/// Anthropic Messages (POST /v1/messages).
[[nodiscard]] const WireFormat& anthropic_format() noexcept;

/// A stream event as `format` would write it for `text`, cut in the middle of its JSON (the
/// malformed fault): still one event, but its data is not JSON.
void append_broken_event(const WireFormat& format, const Exchange& ex, std::string_view text,
                         std::string& out);

/// The JSON kinds request fields are checked against.
enum class JsonKind : std::uint8_t { string, boolean, number, integer, object, array };

/// A request field and the kind it must have.
struct FieldKind {
  std::string_view name;
  JsonKind kind;
};

/// Checks that each of `fields` that `doc` (an object) has, null counting as absent, is of its
/// kind; returns the first mismatch ("'stream' must be a boolean"), or nothing.
[[nodiscard]] std::optional<std::string> check_field_kinds(const nlohmann::json& doc,
                                                           std::span<const FieldKind> fields);

/// Decodes a message's content (a string, null, or an array of parts with a string "text"; the
/// parts joined by newlines) into `out`; returns why it is invalid, or nothing.
[[nodiscard]] std::optional<std::string> read_text_content(const nlohmann::json& content,
                                                           std::string& out);

}  // namespace medsafe::sim
