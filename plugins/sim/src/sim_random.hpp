#pragma once
/// The simulator's deterministic randomness: every "random" choice is a pure function of a
/// 64-bit hash (medsafe/stable_hash.hpp), so the same inputs always give the same choice, in
/// process and over HTTP.
#include <cstdint>

#include "medsafe/stable_hash.hpp"

namespace medsafe::sim {

/// A deterministic uniform number in [0, 1) from a 64-bit hash.
[[nodiscard]] constexpr double unit_interval(std::uint64_t hash) noexcept {
  return static_cast<double>(hash >> 11) * 0x1.0p-53;
}

/// The `index`-th draw of the independent stream `stream` of `hash`: uniform in [0, 1).
[[nodiscard]] constexpr double draw(std::uint64_t hash, std::uint64_t stream,
                                    std::uint64_t index = 0) noexcept {
  return unit_interval(mix64(hash ^ mix64((stream << 40) + index)));
}

}  // namespace medsafe::sim
