#pragma once
/// Deterministic sampling without replacement, stable across runs, platforms and releases.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace medsafe::tabular {

/// 64-bit FNV-1a of the bytes from a basis mixed with `seed`, finished with splitmix64's mixer
/// (medsafe/stable_hash.hpp): the same value everywhere (unlike std::hash).
[[nodiscard]] std::uint64_t seeded_hash(std::string_view bytes, std::uint64_t seed = 0) noexcept;

/// The positions (ascending) of the `count` keys that rank first under `seed`; every position
/// when `count` is 0 or not below the number of keys. An item's rank depends only on its own key
/// and the seed, so the same seed always picks the same items, and an item stays picked when
/// others are added to or removed from the pool unless one of them outranks it.
[[nodiscard]] std::vector<std::size_t> sample_positions(const std::vector<std::string_view>& keys,
                                                        std::size_t count, std::uint64_t seed);

}  // namespace medsafe::tabular
