#include "engine/run/item_changes.hpp"

#include <algorithm>
#include <map>
#include <span>

#include "engine/run/sampling.hpp"
#include "engine/store/item_hash.hpp"

namespace medsafe {
namespace {

// The one rule `medsafe run` and `medsafe doctor` share: a stored item whose text now hashes to
// `now` changed when its own hash or the hash any answer was asked with differs; its answers
// and verdicts are then counted as changed.
void count_if_changed(ItemChanges& changes, const StoredItem& stored, const std::string& now) {
  const bool other_answers = std::any_of(stored.answer_hashes.begin(), stored.answer_hashes.end(),
                                         [&now](const std::string& hash) { return hash != now; });
  if (stored.content_hash == now && !other_answers) return;
  changes.changed.push_back(stored.item_id);
  changes.changed_answers += stored.answers;
  changes.changed_verdicts += stored.verdicts;
}

}  // namespace

ItemChanges compare_items(Store& store, const std::string& suite,
                          const std::vector<PromptItem>& items) {
  ItemChanges changes;
  changes.suite = suite;
  std::map<std::string, std::string> now;
  for (const PromptItem& item : items) now.emplace(item.id, item_content_hash(item));
  for (const StoredItem& stored : store.stored_items(suite)) {
    const auto found = now.find(stored.item_id);
    if (found == now.end()) {
      if (stored.answers > 0) {
        changes.gone.push_back(stored.item_id);
        changes.gone_answers += stored.answers;
      }
      continue;
    }
    if (stored.answers == 0 && stored.verdicts == 0) continue;
    count_if_changed(changes, stored, found->second);
  }
  return changes;
}

namespace {

// The stored items of a suite that have answers or verdicts, for a resume to compare with the
// dataset: a fresh run holds none.
struct StoredItems {
  std::vector<StoredItem> items;  ///< in the store's order
  std::map<std::string, std::size_t> index;
  std::vector<bool> seen;
};

StoredItems answered_items(Store& store, const std::string& suite) {
  StoredItems stored;
  if (!store.has_answers(suite)) return stored;
  for (StoredItem& item : store.stored_items(suite)) {
    if (item.answers == 0 && item.verdicts == 0) continue;  // may change freely
    stored.index.emplace(item.item_id, stored.items.size());
    stored.items.push_back(std::move(item));
  }
  stored.seen.assign(stored.items.size(), false);
  return stored;
}

}  // namespace

std::vector<ItemChanges> record_items(Store& store, Assembly& assembly, ShardPlan* plan) {
  auto& suites = assembly.suites();
  std::vector<ItemChanges> changes(suites.size());
  std::vector<StoredItems> stored;
  std::vector<SuiteDigest> digests(suites.size());
  std::vector<std::size_t> totals(suites.size(), 0);
  std::map<const SuiteSlot*, std::size_t> slot_index;
  for (std::size_t s = 0; s < suites.size(); ++s) {
    SuiteSlot& slot = suites[s];
    changes[s].suite = slot.spec->name;
    stored.push_back(answered_items(store, slot.spec->name));
    store.begin_items(slot.spec->name);
    slot_index.emplace(&slot, s);
  }
  // Compares one item of suite `s` now with what the store holds of it.
  const auto compare = [&](std::size_t s, const PromptItem& item) {
    StoredItems& before = stored[s];
    const auto found = before.index.find(item.id);
    if (found == before.index.end()) return;
    before.seen[found->second] = true;
    count_if_changed(changes[s], before.items[found->second], item_content_hash(item));
  };
  std::vector<std::size_t> places;
  // Suites loaded whole (load_suites(), perhaps trimmed or sharded by the caller): recorded as
  // they are held, in batches.
  for (std::size_t s = 0; s < suites.size(); ++s) {
    SuiteSlot& slot = suites[s];
    if (!slot.loaded) continue;
    for (const PromptItem& item : slot.items) compare(s, item);
    for (std::size_t at = 0; at < slot.items.size(); at += kDefaultItemBatch) {
      const std::size_t n = std::min(kDefaultItemBatch, slot.items.size() - at);
      places.clear();
      for (std::size_t i = at; i < at + n; ++i) {
        places.push_back(slot.positions.size() == slot.items.size() ? slot.positions[i] : i);
      }
      store.add_items(slot.spec->name, std::span<const PromptItem>(slot.items).subspan(at, n),
                      places, std::string(to_string(slot.spec->expect)));
    }
    slot.item_count = slot.items.size();
    totals[s] = slot.items.size();
    if (plan != nullptr) {
      for (const PromptItem& item : slot.items) digests[s].add(item);
    }
  }
  for (SuiteSlot& slot : suites) {
    if (slot.loaded) continue;
    slot.items.clear();
    slot.positions.clear();
    slot.item_count = 0;
  }
  // The window of a streamed suite: a uniform sample of kItemWindow of the items the run asks
  // (reservoir sampling, Algorithm R), seeded by the run's seed and the suite's name so that a
  // rerun keeps the same prompts, and put back in suite order below. A suite no larger than the
  // window keeps every item; a larger one (sorted by category, as MedSafetyBench is) is not
  // represented by its first items alone.
  std::vector<Xoshiro256> reservoir;
  reservoir.reserve(suites.size());
  for (const SuiteSlot& slot : suites) {
    reservoir.emplace_back(cell_seed(assembly.run().run.seed, {"item window", slot.spec->name}));
  }
  std::vector<PromptItem> kept;
  assembly.stream_suites([&](SuiteSlot& slot, std::span<PromptItem> batch) {
    const std::size_t s = slot_index.at(&slot);
    const std::string& suite = slot.spec->name;
    const bool split = plan != nullptr && slot.spec->safety;
    kept.clear();
    places.clear();
    for (PromptItem& item : batch) {
      const std::size_t place = totals[s]++;
      if (plan != nullptr) digests[s].add(item);
      if (split && shard_of(suite, item.id, plan->shard.count) != plan->shard.index) continue;
      compare(s, item);
      places.push_back(place);
      kept.push_back(std::move(item));
    }
    store.add_items(suite, kept, places, std::string(to_string(slot.spec->expect)));
    for (std::size_t i = 0; i < kept.size(); ++i) {
      const std::size_t seen = slot.item_count + i;  // items before this one
      if (slot.items.size() < kItemWindow) {
        slot.items.push_back(std::move(kept[i]));
        slot.positions.push_back(places[i]);
      } else if (const std::uint64_t j = reservoir[s].below(seen + 1); j < kItemWindow) {
        slot.items[j] = std::move(kept[i]);
        slot.positions[j] = places[i];
      }
    }
    slot.item_count += kept.size();
  });
  // Each streamed window back in suite order (its positions ascending).
  for (SuiteSlot& slot : suites) {
    if (slot.loaded || std::is_sorted(slot.positions.begin(), slot.positions.end())) continue;
    std::vector<std::size_t> order(slot.positions.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&slot](std::size_t a, std::size_t b) {
      return slot.positions[a] < slot.positions[b];
    });
    std::vector<PromptItem> items;
    std::vector<std::size_t> positions;
    items.reserve(order.size());
    positions.reserve(order.size());
    for (const std::size_t i : order) {
      items.push_back(std::move(slot.items[i]));
      positions.push_back(slot.positions[i]);
    }
    slot.items = std::move(items);
    slot.positions = std::move(positions);
  }
  for (std::size_t s = 0; s < suites.size(); ++s) {
    const StoredItems& before = stored[s];
    for (std::size_t i = 0; i < before.items.size(); ++i) {
      if (before.seen[i] || before.items[i].answers == 0) continue;
      changes[s].gone.push_back(before.items[i].item_id);
      changes[s].gone_answers += before.items[i].answers;
    }
    if (plan == nullptr) continue;
    ShardedSuite sharded;
    sharded.suite = suites[s].spec->name;
    sharded.items = static_cast<std::int64_t>(totals[s]);
    sharded.kept = static_cast<std::int64_t>(suites[s].item_count);
    sharded.digest = digests[s].value();
    plan->suites.push_back(std::move(sharded));
  }
  return changes;
}

std::string count_of(std::int64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string some_ids(const std::vector<std::string>& ids) {
  constexpr std::size_t kShown = 5;
  std::string text;
  for (std::size_t i = 0; i < ids.size() && i < kShown; ++i) {
    if (i > 0) text += ", ";
    text += ids[i];
  }
  if (ids.size() > kShown) text += " and " + std::to_string(ids.size() - kShown) + " more";
  return text;
}

}  // namespace medsafe
