#include "engine/run/item_changes.hpp"

#include <algorithm>
#include <map>

#include "engine/store/item_hash.hpp"

namespace medsafe {

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
    const bool other_answers =
        std::any_of(stored.answer_hashes.begin(), stored.answer_hashes.end(),
                    [&found](const std::string& hash) { return hash != found->second; });
    if (stored.content_hash != found->second || other_answers) {
      changes.changed.push_back(stored.item_id);
      changes.changed_answers += stored.answers;
      changes.changed_verdicts += stored.verdicts;
    }
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
