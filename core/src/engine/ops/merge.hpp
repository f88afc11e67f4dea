#pragma once
/// `medsafe merge OUT DIR...`: the stores of a run's shards (engine/shard.hpp) put back together
/// into one store, which reads as the store of the same run made on one machine: every item in
/// the order of the whole suite, every answer, verdict and load point, each shard's sessions.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace medsafe {

/// What to merge.
struct MergeOptions {
  std::filesystem::path out;  ///< the merged run directory
  /// Shard run directories, or folders holding them (shard-*-of-*), in any order.
  std::vector<std::filesystem::path> dirs;
  bool allow_missing = false;  ///< merge even when some shards are not given
  std::string command;         ///< the merge command line, for the run directories' locks
};

/// What a merge did.
struct MergeSummary {
  int shard_count = 0;
  std::vector<int> merged;                        ///< shard indexes merged, ascending
  std::vector<int> missing;                       ///< shard indexes not given (with allow_missing)
  std::vector<std::filesystem::path> shard_dirs;  ///< in shard order
  std::int64_t items = 0;
  std::int64_t responses = 0;
  std::int64_t verdicts = 0;
  std::int64_t load_points = 0;
};

/// The shard run directories `dirs` name: each one that holds a store, and for one that holds
/// none, its sub-folders shard-*-of-* that do. Throws a usage Error for a folder with neither.
[[nodiscard]] std::vector<std::filesystem::path> shard_directories(
    const std::vector<std::filesystem::path>& dirs);

/// Merges the shards into `options.out`/medsafe.db, holding every shard's run lock meanwhile.
/// Refuses, naming the directory and what differs, shards of other runs (run file text, seed,
/// samples, judges, shard count, any component's plugin or configuration, the dataset a suite
/// read), a shard given twice, missing shards (unless allow_missing: it says which), a shard in
/// use by a running medsafe, and an `out` that holds a store not made by a merge (one made by a
/// merge is replaced). The new store is built beside and moved into place, so `out` never holds
/// half a merge. Writes no report: the caller does.
MergeSummary merge_shards(const MergeOptions& options);

}  // namespace medsafe
