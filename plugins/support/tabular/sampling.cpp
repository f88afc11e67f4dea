#include "tabular/sampling.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "medsafe/stable_hash.hpp"

namespace medsafe::tabular {

std::uint64_t seeded_hash(std::string_view bytes, std::uint64_t seed) noexcept {
  // mix64 spreads FNV-1a's weak low bits over the whole word.
  return mix64(fnv1a(kFnv1aBasis ^ mix64(seed), bytes));
}

std::vector<std::size_t> sample_positions(const std::vector<std::string_view>& keys,
                                          std::size_t count, std::uint64_t seed) {
  std::vector<std::size_t> positions(keys.size());
  std::iota(positions.begin(), positions.end(), std::size_t{0});
  if (count == 0 || count >= keys.size()) return positions;
  // Rank by (hash, position): the position only breaks the (unlikely) ties, so the order is total.
  std::vector<std::pair<std::uint64_t, std::size_t>> ranked;
  ranked.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) ranked.emplace_back(seeded_hash(keys[i], seed), i);
  std::nth_element(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(count),
                   ranked.end());
  positions.clear();
  for (std::size_t i = 0; i < count; ++i) positions.push_back(ranked[i].second);
  std::sort(positions.begin(), positions.end());
  return positions;
}

}  // namespace medsafe::tabular
