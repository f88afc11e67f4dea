#pragma once
#include <chrono>
#include <cstdint>

namespace medsafe {

/// The one clock for every latency figure. On Linux steady_clock is CLOCK_MONOTONIC, which is
/// shared by all processes on the machine, so a client's and a local server's stamps compare.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

/// Nanoseconds since the clock's epoch; 0 stands for "never happened".
[[nodiscard]] inline std::int64_t to_ns(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
[[nodiscard]] inline TimePoint from_ns(std::int64_t ns) noexcept {
  return TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}

}  // namespace medsafe
