#pragma once
/// Whether a run is finished, from its store alone: the answers, verdicts and load points it
/// plans against those stored. An interrupted run's reports say what is missing instead of
/// looking final, and `medsafe report DIR` says the same as the run that wrote the store.
#include <cstdint>
#include <string>
#include <vector>

#include "report/run_data.hpp"

namespace medsafe {

/// Verdicts one judge still owes.
struct JudgeBacklog {
  std::string judge;
  std::int64_t missing = 0;  ///< ok answers of the suites it judges without its verdict
};

/// What a run lacks.
struct Completeness {
  bool complete = true;  ///< nothing below is missing
  /// Answer slots: items of each safety suite × models under test × samples.
  std::int64_t planned_answers = 0;
  /// Slots with no stored outcome, or whose request an interrupt cancelled.
  std::int64_t missing_answers = 0;
  std::int64_t cancelled_answers = 0;          ///< of missing_answers, the cancelled ones
  std::int64_t missing_verdicts = 0;           ///< summed over missing_by_judge
  std::vector<JudgeBacklog> missing_by_judge;  ///< judges owing verdicts, in run order
  std::int64_t planned_load_points = 0;
  std::int64_t missing_load_points = 0;  ///< planned, not measured to the end
  /// Items that left their suite's dataset, and their stored answers (kept, never counted).
  std::int64_t retired_items = 0;
  std::int64_t retired_answers = 0;
  /// Invocations whose responses are in the store; more than one: the run was resumed (or it
  /// was merged from shards).
  std::int64_t sessions = 0;
  /// Some run (the run, or one of the shards merged) stored responses in more than one session.
  bool resumed = false;
  /// Merged by `medsafe merge`: the run's shard count (0: not merged), and the shards missing.
  int shards = 0;
  std::vector<int> missing_shards{};
};

/// Completeness of the run in `data` (RunData as read for reports: items of the suites now).
[[nodiscard]] Completeness compute_completeness(const RunData& data);

}  // namespace medsafe
