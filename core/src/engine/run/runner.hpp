#pragma once
/// Drives the safety phase of a run: asks every model for every missing answer within its flow
/// control (concurrency, rate limits, retries), judges answers as they arrive, and commits each
/// result to the store as it comes.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/plugin/assembly.hpp"
#include "engine/run/shard.hpp"
#include "engine/store/store.hpp"

namespace medsafe {

/// What one invocation did (this process only, not what earlier runs stored).
struct InvocationCounts {
  std::int64_t planned = 0;         ///< answers this invocation set out to get
  std::int64_t answered = 0;        ///< ok responses received
  std::int64_t failed = 0;          ///< responses that failed after their last attempt
  std::int64_t retried = 0;         ///< attempts that failed and were tried again
  std::int64_t already_done = 0;    ///< answers found in the store and not asked again
  std::int64_t judged = 0;          ///< verdicts received (any status)
  std::int64_t judge_failures = 0;  ///< verdicts with parse_failure or error
  std::int64_t unfinished = 0;      ///< answers not obtained because the run was interrupted
  bool interrupted = false;
  /// Set when a model's first attempts all failed alike (fail_fast_after): nothing more was
  /// asked, and the run should end with an error (the reports still get written).
  std::optional<EarlyStop> stopped_early;
};

/// How the runner reports progress and reacts to interruption.
struct RunnerOptions {
  /// Set to non-zero (e.g. by a signal handler) to stop scheduling; in-flight requests get
  /// `grace` to finish, then are cancelled.
  const std::atomic<int>* interrupt = nullptr;
  std::chrono::milliseconds grace{5000};
  /// Called about every `progress_every` with one status line per model; `final` on the last.
  std::function<void(const std::vector<std::string>& lines, bool final)> progress;
  std::chrono::milliseconds progress_every{1000};
  /// False: ask no model, only judge stored answers (`medsafe judge`).
  bool ask_models = true;
  /// The judges to run; empty: all of the run's.
  std::vector<std::string> judges;
};

/// How record_run treats what the store already holds.
struct RecordOptions {
  /// Items whose dataset row changed since their answers were stored have those answers and
  /// their verdicts dropped, to be asked again (`medsafe run --rerun-changed`); without it such a
  /// run is refused.
  bool rerun_changed = false;
  /// False: this invocation measures no load phase (a shard other than 0), so it plans none.
  bool load_phases = true;
  /// Set: only this shard's items of each safety suite are recorded (and asked).
  std::optional<Shard> shard;
};

/// Records the run's components and items in the store and refuses to mix answers from a
/// changed model or suite configuration (naming the keys that differ), or from an edited
/// dataset row (naming the items; a data Error), into an existing run directory. A judge whose
/// configuration changed has its stored verdicts dropped, so they are made again. Items gone
/// from a suite's dataset keep their answers in the store, left out of the reports. The suites
/// are read here, streamed into the store (SuiteSlot keeps counts and a small window); returns
/// the shard's plan when options.shard is set (the caller records it with record_shard()).
std::optional<ShardPlan> record_run(Store& store, Assembly& assembly, Log& log,
                                    const RecordOptions& options = {});

/// Records the given judges only (for `medsafe judge`): a judge whose configuration changed, or
/// every judge named in `replace`, has its stored verdicts dropped so they are made again.
void record_judges(Store& store, Assembly& assembly, Log& log,
                   const std::vector<std::string>& judges, bool replace);

/// Runs what is missing of the safety phase. Returns when everything was asked and judged, or
/// after an interrupt.
InvocationCounts run_missing(Assembly& assembly, Store& store, const RunnerOptions& options);

/// "1h2m3s".
[[nodiscard]] std::string format_duration(double seconds);

}  // namespace medsafe
