#pragma once
/// The simulator's deterministic randomness: every "random" choice is a pure function of a
/// 64-bit hash, so the same inputs always give the same choice, in process and over HTTP.
#include <cstdint>
#include <string_view>

namespace medsafe::sim {

/// FNV-1a's offset basis: the start of every fnv1a() chain.
inline constexpr std::uint64_t kFnvBasis = 14695981039346656037ULL;

/// Folds `text` into an FNV-1a hash.
[[nodiscard]] constexpr std::uint64_t fnv1a(std::uint64_t hash, std::string_view text) noexcept {
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

/// splitmix64's finaliser: spreads a weak hash's low bits over the whole word.
[[nodiscard]] constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// A deterministic uniform number in [0, 1) from a 64-bit hash.
[[nodiscard]] constexpr double unit_interval(std::uint64_t hash) noexcept {
  return static_cast<double>(hash >> 11) * 0x1.0p-53;
}

/// The `index`-th draw of the independent stream `stream` of `hash`: uniform in [0, 1).
[[nodiscard]] constexpr double draw(std::uint64_t hash, std::uint64_t stream,
                                    std::uint64_t index = 0) noexcept {
  return unit_interval(mix(hash ^ mix((stream << 40) + index)));
}

}  // namespace medsafe::sim
