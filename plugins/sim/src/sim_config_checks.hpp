#pragma once
/// Range checks of the `sim` manifest's keys, each throwing a located config Error.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "medsafe/config.hpp"

namespace medsafe::sim {

/// A number key between 0 and 1 (a probability).
[[nodiscard]] inline double unit_number(const Config& config, std::string_view key) {
  const double value = config.number(key);
  if (!(value >= 0.0 && value <= 1.0)) throw config.error(key, "must be between 0 and 1");
  return value;
}

/// A finite number key >= 0.
[[nodiscard]] inline double non_negative_number(const Config& config, std::string_view key) {
  const double value = config.number(key);
  if (!(value >= 0.0) || !std::isfinite(value)) {
    throw config.error(key, "must be a finite number >= 0");
  }
  return value;
}

/// An integer key >= `minimum`.
[[nodiscard]] inline std::int64_t integer_at_least(const Config& config, std::string_view key,
                                                   std::int64_t minimum) {
  const std::int64_t value = config.integer(key);
  if (value < minimum) throw config.error(key, "must be >= " + std::to_string(minimum));
  return value;
}

}  // namespace medsafe::sim
