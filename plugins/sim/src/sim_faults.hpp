#pragma once
/// Fault injection of the simulated model: which fault (if any) an attempt of a request meets,
/// drawn from the seed, the request's id and the attempt number, so that a test is reproducible
/// and a retry of the same request can succeed. Pure computation, shared by the `sim` backend
/// and `medsafe-sim-server`.
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "medsafe/config.hpp"

namespace medsafe::sim {

struct Answer;

/// The faults, in the order their probabilities are stacked on the unit interval.
enum class FaultKind : std::uint8_t {
  none,
  status_429,        ///< HTTP 429 with Retry-After, before generation
  status_500,        ///< HTTP 500, before generation
  status_503,        ///< HTTP 503, before generation
  reset,             ///< the connection is reset before any response byte (HTTP only)
  reset_mid_stream,  ///< the connection is reset after fault_after_events events (HTTP only)
  stall,             ///< nothing is sent for stall_ms after fault_after_events events (HTTP only)
  malformed,         ///< a non-streaming body that is not JSON; a stream event cut in half
  error_event,       ///< an in-band error event after fault_after_events events; the stream ends
  slow_drip,         ///< events spaced drip_ms apart instead of itl_ms
};

/// Number of FaultKind values, `none` included.
inline constexpr std::size_t kFaultKindCount = 10;

/// "none", "429", "500", "503", "reset", "reset_mid_stream", "stall", "malformed",
/// "error_event", "slow_drip".
[[nodiscard]] std::string_view to_string(FaultKind kind) noexcept;

/// True for the faults the in-process `sim` backend can show as a Response (the others need a
/// connection: resets and stalls happen only over HTTP).
[[nodiscard]] bool applies_in_process(FaultKind kind) noexcept;

/// The fault keys of the `sim` manifest.
struct FaultSettings {
  /// Probability of each kind, indexed by FaultKind (index 0, none, is unused); the sum is <= 1.
  std::array<double, kFaultKindCount> rates{};
  double retry_after_s = 1.0;           ///< the Retry-After of a 429 (fractions allowed)
  std::int64_t fault_after_events = 1;  ///< mid-stream faults strike after this many events
  double stall_ms = 5000.0;
  double drip_ms = 1000.0;

  /// Reads and range-checks the fault keys; throws a located config Error.
  [[nodiscard]] static FaultSettings from_config(const Config& config);

  /// True when any fault has a non-zero probability.
  [[nodiscard]] bool enabled() const noexcept;
  [[nodiscard]] double rate(FaultKind kind) const noexcept {
    return rates[static_cast<std::size_t>(kind)];
  }
  void set_rate(FaultKind kind, double rate) noexcept {
    rates[static_cast<std::size_t>(kind)] = rate;
  }

  /// The fault met by attempt `attempt` (1 = the first) of the request `request_id`: the same
  /// arguments always give the same fault, and the attempts of one request are independent.
  [[nodiscard]] FaultKind draw(std::uint64_t seed, std::string_view request_id,
                               int attempt) const noexcept;

  /// Retry-After as header text: whole seconds as an integer ("1"), else a decimal ("0.25").
  [[nodiscard]] std::string retry_after_text() const;
};

/// Respaces an answer's events `drip_ns` apart after the first (the slow-drip fault).
void apply_drip(Answer& answer, std::int64_t drip_ns);

/// Counts the attempts of each request id: the n-th call with an id returns n. Thread-safe.
class AttemptCounter {
 public:
  /// Records one more attempt of `request_id` and returns its number (1 = the first).
  int next(std::string_view request_id);
  /// Forgets every id.
  void clear();

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, int> attempts_;
};

}  // namespace medsafe::sim
