#pragma once
/// The plumbing every HTTP model backend shares around the core transport: a Backend base that
/// builds and starts the request (the API only writes the body and decodes the answer), the
/// exchange that feeds an API's response assembler, and the parts of a Response that every
/// API fills alike (timing, status, Retry-After, HTTP-level failures, usage, redaction).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/http/endpoint.hpp"
#include "medsafe/http/replicas.hpp"
#include "medsafe/http/transport.hpp"
#include "medsafe/plugin.hpp"

namespace medsafe::http_backend {

/// A Backend that sends each Request as one POST to a fixed Endpoint over the shared transport.
/// Never throws for a failed request: a body that cannot be built is a backend_error Response.
class MEDSAFE_API HttpBackend : public Backend {
 public:
  /// Cancels this backend's requests in flight (each still gets its Response).
  ~HttpBackend() override;
  HttpBackend(const HttpBackend&) = delete;
  HttpBackend& operator=(const HttpBackend&) = delete;

  void submit(Request request, ResponseCallback done) final;
  /// Cancels this backend's requests in flight (not those of other backends).
  void cancel_all() final;
  /// True: `done` runs on a transport I/O thread (or inside submit, when the request cannot be
  /// built) and never under a lock of ours, and the transport accepts new exchanges from its
  /// own threads.
  [[nodiscard]] bool reentrant_submit() const noexcept final;

 protected:
  /// Registers the endpoint's API key with `context.log` as a secret.
  HttpBackend(const ComponentContext& context, Endpoint endpoint);

  [[nodiscard]] const Endpoint& endpoint() const noexcept { return *endpoint_; }
  /// The request's JSON body; may throw (the request then fails as backend_error).
  [[nodiscard]] virtual std::string build_body(const Request& request) const = 0;
  /// The exchange that turns the transport's reports for `request` into its Response.
  [[nodiscard]] virtual std::shared_ptr<HttpExchange> make_exchange(
      const Request& request, ResponseCallback done) const = 0;

 private:
  struct ReplicatedCall;
  /// submit() for a model with several replicas (replicas.cpp).
  void submit_replicated(Request request, ResponseCallback done);
  /// Sends `call` to the replica ReplicaSet::pick chooses, and on to another when it fails
  /// there (replicas.cpp).
  void send_to_replica(const std::shared_ptr<ReplicatedCall>& call);

  HttpTransport& http_;
  std::shared_ptr<const Endpoint> endpoint_;
  std::shared_ptr<ReplicaSet> replicas_;  ///< null: one endpoint
};

/// An HttpExchange that feeds an API's assembler — a type with `void on_event(const SseEvent&)`
/// and `Response finish(HttpResult&&)` — and hands the Response to `done`.
template <typename Assembler>
class AssemblingExchange final : public HttpExchange {
 public:
  AssemblingExchange(Assembler assembler, ResponseCallback done)
      : assembler_(std::move(assembler)), done_(std::move(done)) {}

  void on_event(const SseEvent& event) override {
    if (event.cut) {
      assembler_.on_cut_event(event);
    } else {
      assembler_.on_event(event);
    }
    // An answer at its size bound needs no more of the stream: ending the transfer bounds the
    // time and bandwidth a runaway server takes, not only the memory.
    if (assembler_.text_full()) stop();
  }
  void on_complete(HttpResult&& result) override { done_(assembler_.finish(std::move(result))); }

 private:
  Assembler assembler_;
  ResponseCallback done_;
};

/// How decoding one stream event or one body went.
enum class DecodeStatus : std::uint8_t {
  ok,            ///< well-formed
  error_object,  ///< the server sent an error object instead of an answer; the message says it
  malformed,     ///< not decodable; the message says what was wrong
};

/// The first failure seen while reading one answer; later failures do not replace it.
class MEDSAFE_API FailureSlot {
 public:
  void fail(Outcome outcome, std::string error);
  [[nodiscard]] bool failed() const noexcept { return outcome_ != Outcome::ok; }
  /// Moves the failure (if any) into `response`.
  void move_to(Response& response);

 private:
  Outcome outcome_ = Outcome::ok;
  std::string error_;
};

/// What every API's response assembler shares: the answer as it accumulates, the first failure,
/// and finish(), which makes the Response. A derived class decodes the API's stream events
/// (on_event, setting the fields below and `ended_` at the end marker) and its bodies.
class MEDSAFE_API AssemblerBase {
 public:
  /// `secret` (the API key, may be empty) is removed from every error and the text;
  /// `intended_send` is the schedule's time (epoch: the actual send time); `end_marker` names
  /// the stream's last event in errors ("[DONE]", "message_stop"); `max_text_bytes` is the
  /// request's max_response_bytes (0: no limit): text beyond it is cut and flagged truncated.
  AssemblerBase(std::string secret, TimePoint intended_send, std::string_view end_marker,
                std::size_t max_text_bytes = 0);
  virtual ~AssemblerBase();
  AssemblerBase(AssemblerBase&&) noexcept;
  AssemblerBase& operator=(AssemblerBase&&) noexcept;

  /// The Response, once the exchange is over: status, timing, Retry-After, and a failure for a
  /// transport failure, a non-2xx status (http_error), a stream that failed or did not reach its
  /// end marker (stream_error; malformed for an undecodable event), or a bad body; then usage
  /// (the server's count, else the token events counted) and the text that arrived. Call once.
  /// A body or stream the transport cut (HttpResult::cut) gives the answer text read from its
  /// beginning, flagged truncated.
  [[nodiscard]] Response finish(HttpResult&& result);

  /// A stream event the transport cut because it outgrew its bound (SseEvent::cut): the answer
  /// text is read from its beginning, and the answer is truncated.
  void on_cut_event(const SseEvent& event);
  /// The answer reached max_text_bytes: the rest of the stream is not wanted.
  [[nodiscard]] bool text_full() const noexcept { return truncated_; }

 protected:
  /// Where the answer's text is, as a path for json_strings_at: in a stream event of type
  /// `event_type` (stream), or in a whole body. An empty path: that event carries none.
  [[nodiscard]] virtual std::vector<std::string_view> text_path(
      bool stream, std::string_view event_type) const = 0;
  /// Adds a stream event's text, up to max_text_bytes (cut at a UTF-8 boundary).
  void append_text(std::string_view piece);
  /// Sets a body's text, cut to max_text_bytes.
  void set_text(std::string text);

  /// Decodes a 2xx non-streaming body into the fields below; returns its status and, unless
  /// ok, the message in `error`.
  virtual DecodeStatus decode_body(const std::string& body, std::string& error) = 0;
  /// The finish reason as the Response gives it (default: finish_reason_ unchanged).
  [[nodiscard]] virtual std::string finish_reason() const;

  std::string text_;
  std::string finish_reason_;
  std::vector<TimePoint> token_events_;
  std::int64_t prompt_tokens_ = -1;      ///< -1: unknown
  std::int64_t completion_tokens_ = -1;  ///< -1: unknown (then counted from token events)
  std::uint64_t events_ = 0;             ///< SSE events seen, the end marker included
  bool ended_ = false;                   ///< the stream's end marker arrived
  FailureSlot failure_;

 private:
  void finish_stream(const HttpResult& result, Response& response);
  /// Bytes of text still wanted (max when there is no limit).
  [[nodiscard]] std::size_t text_room() const noexcept;
  void finish_body(const HttpResult& result, Response& response);

  std::string secret_;
  TimePoint intended_send_;
  std::string_view end_marker_;
  std::size_t max_text_bytes_ = 0;
  bool truncated_ = false;  ///< text_ holds the beginning of a longer answer
};

}  // namespace medsafe::http_backend
