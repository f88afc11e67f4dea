#pragma once
/// Hashes that are the same on every platform, compiler and release (unlike std::hash), for
/// whatever must not change between runs: request ids, seeds, sampled subsets.
#include <cstdint>
#include <string>
#include <string_view>

namespace medsafe {

/// FNV-1a (64-bit): the offset basis that starts every chain, and the prime.
inline constexpr std::uint64_t kFnv1aBasis = 14695981039346656037ULL;
inline constexpr std::uint64_t kFnv1aPrime = 1099511628211ULL;

/// `hash` with `bytes` folded in by FNV-1a; chain calls to hash several parts.
[[nodiscard]] constexpr std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) noexcept {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnv1aPrime;
  }
  return hash;
}

/// FNV-1a of `bytes` from the offset basis.
[[nodiscard]] constexpr std::uint64_t stable_hash(std::string_view bytes) noexcept {
  return fnv1a(kFnv1aBasis, bytes);
}

/// splitmix64's step and finaliser: spreads a weak hash's low bits (FNV-1a's are) over the
/// whole word.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// `value` as 16 lower-case hexadecimal digits.
[[nodiscard]] inline std::string hex16(std::uint64_t value) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out(16, '0');
  for (auto digit = out.rbegin(); digit != out.rend(); ++digit, value >>= 4) {
    *digit = kDigits[value & 0xFU];
  }
  return out;
}

}  // namespace medsafe
