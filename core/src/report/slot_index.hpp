#pragma once
/// Rows of a RunData found by their slot (the names and sample that identify them) in 16 bytes a
/// row: the slot's hash and a pointer, sorted by hash. A map keyed by the slot's names took 100
/// to 140 bytes a row, and at a million answers those maps were the reports' peak.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

namespace medsafe {

/// A slot's names and sample as one number. Names never contain NUL and the parts are mixed in
/// order, so ("ab", "c") and ("a", "bc") differ; a collision costs a comparison, never a
/// wrong row (SlotIndex::find compares the names).
[[nodiscard]] inline std::uint64_t slot_hash(std::initializer_list<std::string_view> names,
                                             int sample = 0) noexcept {
  std::uint64_t h = 0;
  for (const std::string_view part : names) {
    h = (h ^ std::hash<std::string_view>{}(part)) * 0x100000001B3ULL + 0x9E3779B97F4A7C15ULL;
  }
  return (h ^ static_cast<std::uint64_t>(sample)) * 0x100000001B3ULL;
}

/// Pointers to rows of type Row (which must outlive the index), each under the hash of its slot.
template <typename Row>
class SlotIndex {
 public:
  SlotIndex() = default;
  void reserve(std::size_t rows) { by_hash_.reserve(rows); }
  void add(std::uint64_t hash, const Row* row) { by_hash_.emplace_back(hash, row); }
  /// Sorts what was added. Stable: of two rows in one slot, find() gives the later one, as a
  /// map assigned in order kept it.
  void seal() {
    std::stable_sort(by_hash_.begin(), by_hash_.end(),
                     [](const Entry& a, const Entry& b) { return a.first < b.first; });
  }
  /// The last row added under `hash` for which `same(row)` holds (its names are the slot's);
  /// nullptr when there is none.
  template <typename Same>
  [[nodiscard]] const Row* find(std::uint64_t hash, Same&& same) const {
    auto it = std::upper_bound(by_hash_.begin(), by_hash_.end(), hash,
                               [](std::uint64_t value, const Entry& e) { return value < e.first; });
    while (it != by_hash_.begin()) {
      --it;
      if (it->first != hash) break;
      if (same(*it->second)) return it->second;
    }
    return nullptr;
  }
  [[nodiscard]] std::size_t size() const noexcept { return by_hash_.size(); }

 private:
  using Entry = std::pair<std::uint64_t, const Row*>;
  std::vector<Entry> by_hash_;
};

}  // namespace medsafe
