#include "engine/run/sampling.hpp"

#include <cmath>

#include "medsafe/stable_hash.hpp"

namespace medsafe {
namespace {

// GCC and Clang both provide a 128-bit integer on 64-bit targets; `__extension__` keeps
// -Wpedantic quiet about it. Its arithmetic is exact, so results do not depend on the platform.
__extension__ using Uint128 = unsigned __int128;

constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

// The length goes in as 8 little-endian bytes, independent of the host's byte order.
std::uint64_t fnv1a_length(std::uint64_t hash, std::uint64_t length) noexcept {
  for (int i = 0; i < 8; ++i) {
    hash ^= (length >> (8 * i)) & 0xFFU;
    hash *= kFnv1aPrime;
  }
  return hash;
}

}  // namespace

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Xoshiro256::Xoshiro256(std::uint64_t seed) noexcept {
  // splitmix64 never yields four zero words in a row, so the state is never all zero.
  for (auto& word : s_) word = splitmix64(seed);
}

Xoshiro256 Xoshiro256::from_state(const std::array<std::uint64_t, 4>& state) noexcept {
  Xoshiro256 rng(0);
  rng.s_ = state;
  return rng;
}

std::uint64_t Xoshiro256::next() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

std::uint64_t Xoshiro256::below(std::uint64_t bound) noexcept {
  // Lemire's multiply-and-reject: unbiased, and a division only on the rare rejection path.
  Uint128 product = static_cast<Uint128>(next()) * bound;
  auto low = static_cast<std::uint64_t>(product);
  if (low < bound) {
    const std::uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      product = static_cast<Uint128>(next()) * bound;
      low = static_cast<std::uint64_t>(product);
    }
  }
  return static_cast<std::uint64_t>(product >> 64);
}

std::uint64_t cell_seed(std::uint64_t run_seed,
                        std::initializer_list<std::string_view> key) noexcept {
  std::uint64_t hash = kFnv1aBasis;
  for (const std::string_view part : key) {
    hash = fnv1a_length(hash, part.size());
    hash = fnv1a(hash, part);
  }
  // Mixing the run seed through splitmix64 before and after the xor keeps nearby run seeds
  // (1, 2, 3 ...) from giving related cell seeds.
  std::uint64_t state = run_seed;
  std::uint64_t mixed = splitmix64(state) ^ hash;
  return splitmix64(mixed);
}

double percentile_sorted(std::span<const double> sorted, double q) noexcept {
  const std::size_t n = sorted.size();
  if (n == 1 || q <= 0.0) return sorted.front();
  if (q >= 1.0) return sorted.back();
  const double position = static_cast<double>(n - 1) * q;
  const double floor_position = std::floor(position);
  const auto index = static_cast<std::size_t>(floor_position);
  if (index + 1 >= n) return sorted.back();
  const double fraction = position - floor_position;
  const double lower = sorted[index];
  const double upper = sorted[index + 1];
  // std::fma is correctly rounded on every IEEE-754 platform, and an explicit fma cannot be
  // re-contracted by the compiler, so this line gives the same bits everywhere.
  return std::fma(fraction, upper - lower, lower);
}

}  // namespace medsafe
