#include "tabular/sampling.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

namespace medsafe::tabular {
namespace {

// splitmix64's finaliser: spreads FNV-1a's weak low bits over the whole word.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed) noexcept {
  std::uint64_t hash = 14695981039346656037ULL ^ mix(seed);
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return mix(hash);
}

std::vector<std::size_t> sample_positions(const std::vector<std::string_view>& keys,
                                          std::size_t count, std::uint64_t seed) {
  std::vector<std::size_t> positions(keys.size());
  std::iota(positions.begin(), positions.end(), std::size_t{0});
  if (count == 0 || count >= keys.size()) return positions;
  // Rank by (hash, position): the position only breaks the (unlikely) ties, so the order is total.
  std::vector<std::pair<std::uint64_t, std::size_t>> ranked;
  ranked.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) ranked.emplace_back(stable_hash(keys[i], seed), i);
  std::nth_element(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(count),
                   ranked.end());
  positions.clear();
  for (std::size_t i = 0; i < count; ++i) positions.push_back(ranked[i].second);
  std::sort(positions.begin(), positions.end());
  return positions;
}

}  // namespace medsafe::tabular
