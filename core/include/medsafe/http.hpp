#pragma once
/// The shared asynchronous HTTP transport: libcurl multi driven by one I/O thread, with an
/// incremental Server-Sent-Events parser that stamps every event when its blank line arrives.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/clock.hpp"
#include "medsafe/export.hpp"

namespace medsafe {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Limits of one exchange; zero disables a limit. Each fires as its own failure reason.
struct HttpTimeouts {
  std::chrono::milliseconds connect{10'000};      ///< TCP + TLS connection
  std::chrono::milliseconds first_byte{120'000};  ///< from send to the first response byte
  std::chrono::milliseconds idle{120'000};        ///< longest silence between bytes of a body
  std::chrono::milliseconds total{600'000};       ///< from send to the last byte
};

struct HttpRequest {
  std::string url;
  std::string method = "POST";
  Headers headers;  ///< e.g. {"Authorization", "Bearer ..."}: never logged unredacted
  std::string body;
  HttpTimeouts timeouts;
  bool verify_tls = true;
  std::string ca_bundle;      ///< a CA file; empty: the system's
  TimePoint intended_send{};  ///< copied into the result's timing
};

/// One complete SSE event. Views are valid only during the callback.
struct SseEvent {
  std::string_view event;  ///< the "event:" field, empty for the default type
  std::string_view data;   ///< "data:" lines joined by '\n'
  std::string_view id;
  TimePoint completed;  ///< when the blank line ending the event arrived
};

/// Incremental SSE parser (WHATWG rules): lines end in CR, LF or CRLF, and bytes may be split
/// anywhere across feed() calls; comments and unknown fields are ignored.
class MEDSAFE_API SseParser {
 public:
  using EventCallback = std::function<void(const SseEvent&)>;
  /// Parses `bytes` that arrived at `now`, calling `on_event` for each event it completes.
  void feed(std::string_view bytes, TimePoint now, const EventCallback& on_event);
  /// True when bytes of an unfinished event are buffered (a truncated stream).
  [[nodiscard]] bool has_partial_event() const noexcept;
  [[nodiscard]] std::uint64_t events_parsed() const noexcept { return events_; }

 private:
  std::string line_;
  std::string event_;
  std::string data_;
  std::string id_;
  bool data_seen_ = false;
  bool pending_cr_ = false;
  bool in_event_ = false;
  std::uint64_t events_ = 0;
};

/// How an exchange ended, as seen by the transport.
struct HttpResult {
  Outcome outcome = Outcome::ok;  ///< ok, transport_error, timeout or cancelled
  int status = 0;                 ///< HTTP status, 0 when none arrived
  Headers headers;                ///< response headers (names lower-cased)
  std::string body;               ///< the whole body, unless it was delivered as SSE events
  std::string error;              ///< why it failed, for people
  TimePoint sent{};
  TimePoint first_byte{};
  TimePoint finished{};
  bool sse = false;            ///< the body was text/event-stream and went to on_event
  bool sse_truncated = false;  ///< the stream ended inside an event
};

/// One request's callbacks, called on the I/O thread. Must not block and must not throw.
class MEDSAFE_API HttpExchange {
 public:
  virtual ~HttpExchange();
  /// A 2xx text/event-stream response's events, in order, as each completes.
  virtual void on_event(const SseEvent& event);
  /// Exactly once, last.
  virtual void on_complete(HttpResult&& result) = 0;
};

struct HttpTransportOptions {
  long max_connections = 0;  ///< total connection cap; 0: no cap
  bool verbose = false;      ///< libcurl's trace to the log, Authorization redacted
};

/// Owns the libcurl multi handle and its I/O thread. start() is thread-safe; callbacks run on
/// the I/O thread. The destructor cancels what is in flight (each gets on_complete) and joins.
class MEDSAFE_API HttpTransport {
 public:
  explicit HttpTransport(HttpTransportOptions options = {});
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  void start(HttpRequest request, std::shared_ptr<HttpExchange> exchange);
  /// Ends every exchange in flight with Outcome::cancelled.
  void cancel_all();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace medsafe
