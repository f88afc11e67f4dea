#pragma once
/// A suite's items now against what the store holds for them: which rows changed under stored
/// answers (a resume must not pair those answers with the new text) and which stored answers
/// belong to rows gone from the dataset. `medsafe run` and `medsafe doctor` both ask.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/plugin/assembly.hpp"
#include "engine/run/shard.hpp"
#include "engine/store/store.hpp"

namespace medsafe {

/// The differences of one suite.
struct ItemChanges {
  std::string suite;
  std::vector<std::string> changed;  ///< ids whose stored answers or verdicts are for other text
  std::int64_t changed_answers = 0;
  std::int64_t changed_verdicts = 0;
  std::vector<std::string> gone;  ///< ids with stored answers that the dataset no longer has
  std::int64_t gone_answers = 0;
};

/// Compares `items` (the suite's dataset now) with the store. An item without stored answers or
/// verdicts may change freely: nothing would be mixed.
[[nodiscard]] ItemChanges compare_items(Store& store, const std::string& suite,
                                        const std::vector<PromptItem>& items);

/// Records every suite's items in the store as `assembly`'s suites stream them, batch by batch,
/// comparing each with what the store holds (only a store with answers for the suite holds
/// anything to compare), so that no suite is ever held whole. With `plan` (its shard set), a
/// safety suite records only the shard's items, and `plan` gets every suite's counts and digest.
/// Each SuiteSlot keeps its item count and a window of kItemWindow of its items, for the load
/// phases: a seeded uniform sample (all of them when the suite is no larger), in suite order.
/// Writes inside the caller's transaction, if any: a refused run rolls back what this wrote.
[[nodiscard]] std::vector<ItemChanges> record_items(Store& store, Assembly& assembly,
                                                    ShardPlan* plan);

/// "1 answer", "3 answers": `n` with the word that agrees with it.
[[nodiscard]] std::string count_of(std::int64_t n, std::string_view one, std::string_view many);

/// "q1, q4, q9 and 12 more": the first few ids and how many others.
[[nodiscard]] std::string some_ids(const std::vector<std::string>& ids);

}  // namespace medsafe
