#pragma once
/// `medsafe-sim-server` as a library: an OpenAI- and Anthropic-compatible HTTP server around
/// sim::Model, with fault injection, for tests and benchmarks that drive the real `openai` (or
/// `anthropic`) backend over loopback.
#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "medsafe/config.hpp"
#include "sim_model.hpp"

namespace medsafe::sim {

/// How a SimServer listens and behaves.
struct ServerOptions {
  std::string host = "127.0.0.1";          ///< an IPv4 or IPv6 literal, or "localhost"
  std::uint16_t port = 0;                  ///< 0: the kernel picks a free port
  Settings settings;                       ///< the simulated model
  std::string model_name = "medsafe-sim";  ///< listed by /v1/models; answers echo the request's
  std::size_t log_limit = 100'000;  ///< /sim/log keeps the first this many lines (memory bound)
  /// When not empty, chat requests must carry this key ("Authorization: Bearer KEY" or
  /// "x-api-key: KEY"); others get 401. The key is only compared: never logged or echoed.
  std::string api_key;
};

/// Counters of /sim/stats. Requests to /sim/* are not counted.
struct ServerStats {
  std::uint64_t requests_total = 0;    ///< HTTP requests received (any path but /sim/*)
  std::uint64_t chat_completions = 0;  ///< POST /v1/chat/completions, valid or not
  std::uint64_t messages = 0;          ///< POST /v1/messages (Anthropic), valid or not
  std::uint64_t streamed = 0;          ///< valid chat requests with stream = true
  std::uint64_t non_streamed = 0;      ///< valid chat requests without streaming
  std::uint64_t errors = 0;            ///< responses with status >= 400
  std::uint64_t client_closed = 0;     ///< chat requests whose client left before the end
  std::uint64_t in_flight = 0;         ///< chat requests queued or generating now
  std::uint64_t max_in_flight = 0;     ///< the most in flight at once since start or reset
  std::uint64_t connections_open = 0;
  std::uint64_t connections_total = 0;  ///< accepted since start or reset
  std::uint64_t log_dropped = 0;        ///< log lines not kept because of log_limit
  std::uint64_t unauthorized = 0;       ///< chat requests refused with 401 (see api_key)
  /// Faults injected, indexed by FaultKind (index 0, none, stays 0).
  std::array<std::uint64_t, kFaultKindCount> faults{};

  [[nodiscard]] std::uint64_t faults_of(FaultKind kind) const noexcept {
    return faults[static_cast<std::size_t>(kind)];
  }
  /// The counters as /sim/stats prints them: one JSON object, faults as {"429": n, ...}.
  [[nodiscard]] std::string to_json() const;
};

/// One finished attempt of a chat request (either API), as /sim/log prints it. Times are
/// steady_clock nanoseconds (the same clock as medsafe::Clock in every process on the machine);
/// 0 means "did not happen".
struct LogEntry {
  std::string id;                     ///< the X-Request-Id header, or a generated "sim-N"
  std::string api;                    ///< "openai" or "anthropic"
  int attempt = 1;                    ///< the n-th request with this id since start or reset
  FaultKind fault = FaultKind::none;  ///< the fault injected into this attempt
  bool authorized = false;            ///< it carried ServerOptions::api_key (false when unset)
  /// The n-th chat request on its connection: above 1 the client reused a kept-alive connection
  /// (which matters for a reset before the response: libcurl then silently retries once on a
  /// new connection, an attempt the client never counts).
  int on_connection = 1;
  /// The whole request had arrived: the kernel's receive stamp of its last bytes, so time it
  /// waited in its socket while the loop served others counts as the server's.
  std::int64_t received_ns = 0;
  std::int64_t first_event_ns = 0;     ///< the first content event (or the whole body) was written
  std::vector<std::int64_t> event_ns;  ///< each content event's write time (streaming only)
  std::int64_t finished_ns = 0;        ///< the response's last byte was handed to the kernel
  bool streamed = false;
  /// HTTP status sent; 0 when the connection was reset before any response; 499 when the client
  /// closed the connection first.
  int status = 0;
  std::int64_t completion_tokens = 0;

  /// The entry as one JSON object on one line (no newline).
  [[nodiscard]] std::string to_json() const;
};

/// An HTTP/1.1 server on its own thread: a single-threaded epoll loop with non-blocking
/// sockets, keep-alive, and a timerfd armed at the earliest event deadline.
///
/// Endpoints: POST /v1/chat/completions (JSON or SSE stream), POST /v1/messages (Anthropic, JSON
/// or SSE stream), GET /v1/models, GET /sim/stats, POST /sim/reset, GET /sim/log. Faults of
/// Settings::faults are drawn per (seed, X-Request-Id, attempt). stats(), log() and reset() may
/// be called from any thread.
class SimServer {
 public:
  explicit SimServer(ServerOptions options);
  /// Stops the server if it runs.
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  /// Binds, listens and starts the loop thread; returns the port. Throws an io Error when the
  /// address cannot be bound, and a usage Error when the server already runs.
  std::uint16_t start();
  /// Closes every connection and joins the loop thread. Idempotent.
  void stop();

  [[nodiscard]] bool running() const noexcept { return thread_.joinable(); }
  /// The bound port (0 before start).
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// "http://HOST:PORT/v1", the base URL an OpenAI client needs.
  [[nodiscard]] std::string base_url() const;
  [[nodiscard]] ServerStats stats() const;
  /// A copy of the finished chat requests, in the order they finished.
  [[nodiscard]] std::vector<LogEntry> log() const;
  /// Zeroes the counters, empties the log and forgets the attempt counts (in-flight requests
  /// still finish and are logged).
  void reset();

  class Loop;  ///< the event loop (internal)

  /// State shared between the loop thread and callers of stats()/log()/reset().
  struct Shared {
    std::atomic<std::uint64_t> requests_total{0}, chat_completions{0}, messages{0}, streamed{0},
        non_streamed{0}, errors{0}, client_closed{0}, in_flight{0}, max_in_flight{0},
        connections_open{0}, connections_total{0}, log_dropped{0}, unauthorized{0};
    std::array<std::atomic<std::uint64_t>, kFaultKindCount> faults{};
    mutable std::mutex log_mutex;
    std::vector<LogEntry> log;
    AttemptCounter attempts;  ///< per X-Request-Id, while fault injection is on
  };

 private:
  ServerOptions options_;
  Shared shared_;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

/// The `sim` manifest's keys (plugins/sim/plugin.toml, built in): what a --config file may set.
[[nodiscard]] const ConfigSchema& sim_config_schema();

/// Validates TOML text whose top-level keys are the `sim` manifest's keys, as a run file's
/// [models.x] table would be; throws a located config Error.
[[nodiscard]] Settings settings_from_toml(std::string_view text, std::string_view source_name);

/// Reads and validates a settings file (see settings_from_toml); throws an io Error when the
/// file cannot be read.
[[nodiscard]] Settings load_settings_file(const std::filesystem::path& file);

}  // namespace medsafe::sim
