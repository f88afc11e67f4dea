#pragma once
/// Shards of a run (`medsafe run --shard i/N`): each machine of a cluster asks the items whose
/// stable hash falls in its shard, into a store of its own, and `medsafe merge` puts the shards'
/// stores back together (engine/merge.hpp). docs/scale-out.md describes the whole.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medsafe {

class Assembly;
struct PromptItem;
class Store;

/// One shard of a run: the items whose shard_of() is `index`.
struct Shard {
  int index = 0;
  int count = 1;
  std::string source;  ///< where it came from, for messages ("--shard", "SLURM_ARRAY_TASK_ID=2")

  /// "i/N".
  [[nodiscard]] std::string text() const;
  /// "shard-i-of-N": its run directory under the run's own.
  [[nodiscard]] std::string folder_name() const;
  /// Whether this shard measures the run's [load.*] phases: only shard 0 does, since a latency
  /// sweep split over machines that share one server would measure N clients at once.
  [[nodiscard]] bool measures_load() const noexcept { return index == 0; }
};

/// The largest shard count accepted.
inline constexpr int kMaxShards = 100'000;

/// The shard of `suite`'s item `item_id` among `count` shards: the item's stable hash (FNV-1a of
/// suite name and id, spread by mix64) mod `count`. The same on every machine and release.
[[nodiscard]] int shard_of(std::string_view suite, std::string_view item_id, int count) noexcept;

/// Parses "i/N" (0 <= i < N <= kMaxShards); throws a usage Error naming `source` otherwise.
[[nodiscard]] Shard parse_shard(std::string_view text, std::string source = "--shard");

/// Reads an environment variable; nullopt when unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const char* name)>;
/// The process environment.
[[nodiscard]] std::optional<std::string> process_environment(const char* name);

/// The shard an invocation runs: `flag` ("i/N", or "none" for a whole run whatever the
/// environment says) when given; else a Slurm job array's task (SLURM_ARRAY_TASK_ID, counted
/// from SLURM_ARRAY_TASK_MIN in steps of SLURM_ARRAY_TASK_STEP, SLURM_ARRAY_TASK_COUNT shards);
/// else a Kubernetes Indexed Job's JOB_COMPLETION_INDEX, with the count from MEDSAFE_SHARD_COUNT
/// (Kubernetes puts no count in the environment). nullopt: not sharded. Throws a usage Error
/// when the environment names a shard that cannot be taken (an array with gaps, a count
/// missing), saying what to pass instead.
[[nodiscard]] std::optional<Shard> resolve_shard(const std::optional<std::string>& flag,
                                                 const EnvironmentLookup& environment);

/// What a shard kept of one suite.
struct ShardedSuite {
  std::string suite;
  std::int64_t items = 0;  ///< items of the whole suite
  std::int64_t kept = 0;   ///< of which in this shard
  std::string digest;      ///< 16 hex digits over every item's id and content hash, in order
};

/// ShardedSuite::digest made as the suite streams: add() every item of the whole suite, in order.
class SuiteDigest {
 public:
  SuiteDigest();
  void add(const PromptItem& item);
  [[nodiscard]] std::string value() const;

 private:
  std::uint64_t hash_;
};

/// A shard as applied to a run's suites, and as recorded in a store's meta ("shard").
struct ShardPlan {
  Shard shard;
  std::vector<ShardedSuite> suites;  ///< every suite of the run, in run order
};

/// Keeps, in every safety suite (core key safety = true) of `assembly`, only the items of
/// `shard`, recording each kept item's position in the whole suite (SuiteSlot::positions) so
/// that merged stores order items as a single run does. Suites only load phases send (safety =
/// false) are kept whole. Call after Assembly::load_suites().
[[nodiscard]] ShardPlan apply_shard(Assembly& assembly, const Shard& shard);

/// The ShardPlan as the JSON text of meta "shard", and back (nullopt when `json` is not one).
[[nodiscard]] std::string shard_plan_json(const ShardPlan& plan);
[[nodiscard]] std::optional<ShardPlan> shard_plan_from_json(std::string_view json);

/// Refuses (a config Error naming the run directory) to put `plan`'s shard into a store that
/// holds another shard or a run that is not sharded, and a run that is not sharded (`plan`
/// null) into a shard's store. Writes nothing.
void check_shard(Store& store, const ShardPlan* plan);

/// Records `plan` in the store's meta.
void record_shard(Store& store, const ShardPlan& plan);

}  // namespace medsafe
