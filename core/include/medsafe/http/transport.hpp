#pragma once
/// The shared asynchronous HTTP transport (libmedsafe_http, medsafe::http): libcurl multi
/// handles, each driven by its own I/O thread (HttpTransportOptions::io_threads); a
/// text/event-stream body is delivered as SSE events (medsafe/http/sse.hpp), each stamped when
/// its blank line arrives. One per process: the engine creates it and hands it to plugins as
/// ComponentContext::http.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/clock.hpp"
#include "medsafe/export.hpp"
#include "medsafe/http/sse.hpp"

namespace medsafe {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Limits of one exchange; zero disables a limit. Each fires as its own failure reason.
struct HttpTimeouts {
  std::chrono::milliseconds connect{10'000};      ///< TCP + TLS connection; 0: libcurl's 300 s
  std::chrono::milliseconds first_byte{120'000};  ///< from send to the first response byte
  std::chrono::milliseconds idle{120'000};        ///< longest silence between bytes of a body
  std::chrono::milliseconds total{600'000};       ///< from send to the last byte
};

struct HttpRequest {
  std::string url;
  std::string method = "POST";  ///< "POST" sends `body`; "GET" sends none; others as given
  Headers headers;              ///< e.g. {"Authorization", "Bearer ..."}: never logged unredacted
  std::string body;
  HttpTimeouts timeouts;
  bool verify_tls = true;
  std::string ca_bundle;        ///< a CA file; empty: the system's
  TimePoint intended_send{};    ///< the schedule's time, for the caller's timing
  const void* owner = nullptr;  ///< a tag for HttpTransport::cancel(owner); null: none
  /// The most body bytes kept, and the largest one stream event may grow: beyond it the
  /// transfer ends there, as a success flagged HttpResult::cut (the beginning is kept, for the
  /// caller to read what it can). 0: 64 MiB.
  std::size_t max_body_bytes = 0;
};

/// How many first bytes of a body HttpResult::body_head keeps.
inline constexpr std::size_t kBodyHeadBytes = 64;

/// How an exchange ended, as seen by the transport.
struct HttpResult {
  Outcome outcome = Outcome::ok;  ///< ok, transport_error, timeout or cancelled
  int status = 0;                 ///< HTTP status, 0 when none arrived
  Headers headers;                ///< response headers (names lower-cased, values trimmed)
  std::string body;               ///< the whole body, unless it was delivered as SSE events
  std::string error;              ///< why it failed, for people
  /// When the request went out: the moment it was written on its connection, less the time
  /// this transfer spent opening that connection (so set-up counts, queueing in the client does
  /// not); when it was never written, when the transfer started.
  TimePoint sent{};
  TimePoint first_byte{};  ///< first byte of the response headers
  TimePoint finished{};
  std::uint64_t body_bytes = 0;  ///< body bytes received (a stream's too)
  /// The body's first bytes (at most kBodyHeadBytes), kept also for a stream: messages about a
  /// body that could not be read say what it began with.
  std::string body_head;
  bool sse = false;            ///< the body was text/event-stream and went to on_event
  bool sse_truncated = false;  ///< the stream ended inside an event
  /// The transfer was ended early, on purpose: the body or one stream event outgrew
  /// HttpRequest::max_body_bytes (`body` or the last, cut event holds its beginning), or the
  /// exchange asked to stop (HttpExchange::stop). The outcome stays ok.
  bool cut = false;
  std::uint64_t sse_events = 0;  ///< how many events went to on_event
  /// transport_error before any connection: refused, host not resolvable, TLS handshake or
  /// certificate failed, URL not usable (Response::unreachable).
  bool unreachable = false;
  /// How many times the request went on the wire. 0 when no connection was made; 2 when
  /// libcurl found a reused connection closed by the server and resent on a fresh one.
  int sends = 0;

  /// The value of the first header named `lower_name` (lower case), or null.
  [[nodiscard]] const std::string* header(std::string_view lower_name) const noexcept {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return &value;
    }
    return nullptr;
  }
};

/// One request's callbacks, called on the I/O thread. Must not block and must not throw.
class MEDSAFE_API HttpExchange {
 public:
  virtual ~HttpExchange();
  /// A 2xx text/event-stream response's events, in order, as each completes.
  virtual void on_event(const SseEvent& event);
  /// Exactly once, last.
  virtual void on_complete(HttpResult&& result) = 0;

  /// Asks the transport to end the transfer after the current on_event (the exchange has all it
  /// wants, e.g. an answer that reached its size bound); on_complete follows with
  /// HttpResult::cut. Call it only from on_event.
  void stop() noexcept { stop_ = true; }
  [[nodiscard]] bool stop_requested() const noexcept { return stop_; }

 private:
  bool stop_ = false;  ///< only touched on the exchange's I/O thread
};

struct HttpTransportOptions {
  long max_connections = 0;         ///< total connection cap; 0: no cap
  long max_host_connections = 0;    ///< connection cap per host; 0: no cap
  long max_idle_connections = 256;  ///< connections kept open for reuse (over all I/O threads)
  bool verbose = false;             ///< libcurl's trace to stderr, credential headers redacted
  /// I/O threads, each with its own connections; 0: one per core, at most 4. A connection cap
  /// (max_connections or max_host_connections) makes it one, so the cap holds exactly.
  int io_threads = 0;
};

/// Owns libcurl multi handles and their I/O threads. start() is thread-safe; callbacks run on
/// an I/O thread (one exchange's callbacks always on the same one; different exchanges may run
/// at the same time on different ones). The destructor cancels what is in flight (each gets
/// on_complete) and joins.
class MEDSAFE_API HttpTransport {
 public:
  explicit HttpTransport(HttpTransportOptions options = {});
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  /// Queues one exchange; its callbacks follow on the I/O thread. Never throws for a failed
  /// request (that is an on_complete with a failure outcome). During destruction, the exchange
  /// completes at once with Outcome::cancelled.
  void start(HttpRequest request, std::shared_ptr<HttpExchange> exchange);
  /// Ends every exchange started before the call with Outcome::cancelled. Returns once they
  /// have completed; called from a callback (the I/O thread) it returns at once and they
  /// complete right after that callback.
  void cancel_all();
  /// As cancel_all(), but only for the exchanges whose request carried `owner`.
  void cancel(const void* owner);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace medsafe
