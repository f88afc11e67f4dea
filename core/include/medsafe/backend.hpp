#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/clock.hpp"
#include "medsafe/export.hpp"

namespace medsafe {

/// One chat message.
struct Message {
  std::string role;  ///< "system", "user" or "assistant"
  std::string content;
};

/// What a load test asks of a request, beyond the general fields of Request. Set only by a load
/// phase (`[load.NAME]` in a run file); safety-phase and judge requests leave it default.
struct LoadHints {
  /// Generate exactly max_tokens tokens: the server is asked to ignore its end-of-sequence token
  /// (vLLM's and the sim server's `ignore_eos`), where it can. Set only with max_tokens.
  bool ignore_eos = false;
};

/// Metadata of the suite item a request is about, set by the core (the item asked) and by judges
/// that ask a model (the item judged). Not part of the prompt, never sent to a model's API: a
/// simulated backend may use it (the sim plugin's per-category rules), exec hands it to its
/// program, a wrapper passes it on (guard gives it to its judge).
struct ItemHints {
  std::string category;  ///< the item's category id (PromptItem::category); empty if it has none
};

/// One request to a model. Values left empty take the backend's configured defaults.
struct Request {
  std::string id;  ///< unique in the run, stable across resumes ("model/suite/item#sample")
  std::vector<Message> messages;
  std::optional<double> temperature;       ///< overrides the backend's (judges ask for 0)
  std::optional<std::int64_t> max_tokens;  ///< overrides the backend's
  std::optional<std::uint64_t> seed;       ///< sampling seed, where the backend supports it
  LoadHints load{};                        ///< what a load test asks beyond the fields above
  ItemHints item{};           ///< metadata of the item asked about, for simulated backends
  TimePoint intended_send{};  ///< when the schedule meant it to leave; epoch means "now"
  /// The most answer text to keep, in bytes: a longer answer is cut (at a UTF-8 boundary) and
  /// its Response flagged `truncated`. A backend should stop buffering past it (see
  /// wire_bytes_for). 0: no limit. The core sets the model's `max_response_bytes` on every
  /// request, a judge's too.
  std::size_t max_response_bytes = 0;
};

/// The most bytes of raw protocol text (a JSON body, one stream event, one line of a program)
/// worth reading for an answer of at most `max_response_bytes` bytes: three per byte of text
/// (what JSON takes for text escaped as \uXXXX, emoji as surrogate pairs included), plus room
/// for the envelope. Text escaped more densely (control characters) is cut before the bound.
/// 0 (no limit) gives 0.
[[nodiscard]] constexpr std::size_t wire_bytes_for(std::size_t max_response_bytes) noexcept {
  if (max_response_bytes == 0) return 0;
  constexpr std::size_t kEnvelope = std::size_t{64} << 10;
  constexpr std::size_t kMost = ~std::size_t{0};
  return max_response_bytes > (kMost - kEnvelope) / 3 ? kMost : max_response_bytes * 3 + kEnvelope;
}

/// How a request ended. Everything but `ok` is a failure, stored with its reason.
enum class Outcome : std::uint8_t {
  ok,
  http_error,       ///< the server answered with a non-2xx status
  transport_error,  ///< connection refused or reset, DNS, TLS ...
  timeout,          ///< a connect, first-byte, idle or total timeout fired
  malformed,        ///< the body or a stream event could not be decoded
  stream_error,     ///< an in-band error event, or the stream ended before its end marker
  cancelled,        ///< the run was interrupted
  backend_error,    ///< the backend itself failed (a plugin exception, a dead child process)
};

[[nodiscard]] MEDSAFE_API std::string_view to_string(Outcome outcome) noexcept;
[[nodiscard]] MEDSAFE_API std::optional<Outcome> outcome_from_string(std::string_view name);

/// Where an output-token count came from.
enum class TokenSource : std::uint8_t {
  none,      ///< unknown
  usage,     ///< the server's usage.completion_tokens
  events,    ///< counted token-bearing stream events
  estimate,  ///< estimated from the text (non-streaming, no usage)
};
[[nodiscard]] MEDSAFE_API std::string_view to_string(TokenSource source) noexcept;

/// Token counts; -1 means unknown.
struct Usage {
  std::int64_t prompt_tokens = -1;
  std::int64_t completion_tokens = -1;
  TokenSource source = TokenSource::none;
};

/// Client-side time stamps of one request (steady clock). Epoch means "did not happen".
struct Timing {
  TimePoint intended_send{};  ///< the schedule's time (equals `sent` when unscheduled)
  TimePoint sent{};           ///< handed to the transport for sending
  TimePoint first_byte{};     ///< first response byte (headers)
  TimePoint finished{};       ///< the response was complete
  /// Each token-bearing stream event (non-empty content, reasoning or tool calls), stamped
  /// when the blank line ending it arrived. Empty for non-streaming requests.
  std::vector<TimePoint> token_events;
};

/// The result of one request: an answer or a failure with its reason. Never an exception.
/// One send of a request to one replica of a model that has several endpoints.
struct EndpointAttempt {
  std::string endpoint;  ///< the replica's base URL
  Outcome outcome = Outcome::ok;
  int http_status = 0;
};

/// The finish reason of an answer a wrapper gave itself instead of the model's (the `guard`
/// plugin's refusal of a blocked request or answer); the reports count these per model.
inline constexpr std::string_view kFinishGuardBlocked = "guard_blocked";

struct Response {
  Outcome outcome = Outcome::ok;
  int http_status = 0;  ///< 0 when no HTTP status was received
  std::string error;    ///< why it failed, for people; empty when ok
  std::string text;     ///< the answer (what arrived, even on failure)
  /// The answer outgrew Request::max_response_bytes: `text` is its beginning, cut at a UTF-8
  /// boundary (an answer, not a failure: outcome stays ok when the rest was fine).
  bool truncated = false;
  std::string finish_reason;  ///< the server's ("stop", "length"), or kFinishGuardBlocked
  Usage usage;
  Timing timing;
  std::optional<double> retry_after_s;  ///< the server's Retry-After, when it sent one
  /// No connection could be made: refused, host not resolvable, TLS handshake or certificate
  /// failed, URL not usable. The request never reached a server (a configuration-like failure
  /// that retrying seldom mends; see the model's fail_fast_after).
  bool unreachable = false;
  /// Requests this attempt put on the wire. More than 1 when the transport resent it by itself
  /// (libcurl resends once when a reused connection turns out closed); the runner counts each
  /// as an attempt so the store's attempts match what the server saw.
  int wire_sends = 1;
  /// A model with several endpoints (replicas): each replica this attempt was sent to, in
  /// order, the last one's outcome being the Response's. Empty for a single endpoint.
  std::vector<EndpointAttempt> endpoints{};

  [[nodiscard]] bool ok() const noexcept { return outcome == Outcome::ok; }
};

/// Receives a finished Response. Called exactly once per submit, from any thread.
using ResponseCallback = std::function<void(Response&&)>;

/// A model endpoint. Driven from the runner's thread (and, when it says so, from inside its own
/// callbacks); never throws for a request's failure: failures are data in Response.
class MEDSAFE_API Backend {
 public:
  virtual ~Backend();
  /// Starts one request. `done` is called exactly once, from any thread, possibly before
  /// submit returns. Many requests may be in flight at once.
  virtual void submit(Request request, ResponseCallback done) = 0;
  /// Asks every request in flight to end soon with Outcome::cancelled. Default: nothing.
  virtual void cancel_all();
  /// Whether `submit` may be called from inside this backend's own `done` callbacks, on the
  /// thread that runs them (and so from several threads at once). A fixed-concurrency load
  /// point then sends the next request right there, instead of first waking the runner's
  /// thread for every answer. Say true only if `done` is never called while holding a lock
  /// that `submit` takes. Default: false.
  [[nodiscard]] virtual bool reentrant_submit() const noexcept;
};

}  // namespace medsafe
