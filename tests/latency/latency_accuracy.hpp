#pragma once
/// Measures how exactly medsafe times a stream: requests go through the real `openai` backend
/// and HTTP transport to an embedded simulated server, keeping a fixed number in flight; the
/// engine's metrics compute TTFT and ITL from the Responses, and the same statistics are taken of
/// the server's own stamps (/sim/log: request arrived, each event written), on the shared steady
/// clock.
#include <cstdint>
#include <string>

#include "report/metrics.hpp"

namespace medsafe::latency_test {

/// The simulated answer and the load.
struct AccuracySetup {
  double ttft_ms = 200;  ///< the server's time to first token
  double itl_ms = 20;    ///< the server's time between token events
  int output_tokens = 8;
  int concurrency = 1;  ///< requests in flight (closed loop)
  int requests = 10;    ///< requests measured, in all
  /// Requests sent first, at the same concurrency, and left out of both records: they open
  /// the connections, whose set-up the server's own TTFT cannot see (as a load point's warm-up).
  int warmup = 0;
};

/// What medsafe measured and what the server recorded, as the same statistics.
struct AccuracyFigures {
  AccuracySetup setup;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t unmatched = 0;   ///< responses without a server log line (should be 0)
  Distribution client_ttft_ms;  ///< medsafe's TTFT: first token event − sent
  Distribution server_ttft_ms;  ///< the server's: first event written − request arrived
  Distribution client_itl_ms;   ///< medsafe's ITL: gaps between token events, pooled
  Distribution server_itl_ms;   ///< the server's: gaps between events written, pooled
  /// Per token event: the client's stamp − the server's write stamp (delivery + parse delay).
  Distribution event_delay_ms;
  /// Per request: the server's arrival stamp (the kernel's, of the request's last bytes) − the
  /// client's send stamp (request writing + delivery).
  Distribution arrival_delay_ms;

  /// medsafe's median − the server's median, in milliseconds.
  [[nodiscard]] double ttft_median_error_ms() const;
  [[nodiscard]] double itl_median_error_ms() const;
  /// One line for people.
  [[nodiscard]] std::string describe() const;
};

/// Runs `setup` against a fresh simulated server on 127.0.0.1. Throws medsafe::Error when the
/// server cannot start.
[[nodiscard]] AccuracyFigures measure_accuracy(const AccuracySetup& setup);

}  // namespace medsafe::latency_test
