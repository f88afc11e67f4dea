#pragma once
/// Drives the load phases of a run ([load.NAME]): each model at each concurrency (closed loop)
/// or rate (open loop, on an absolute schedule), with warm-up left out of the measurement window,
/// recording every request's timing and each point's schedule-keeping.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/plugin/assembly.hpp"
#include "engine/run/runner.hpp"
#include "engine/store/store.hpp"

namespace medsafe {

/// What the load phases of one invocation did.
struct LoadCounts {
  std::int64_t points_measured = 0;
  std::int64_t points_skipped = 0;  ///< complete in the store already
  std::int64_t points_invalid = 0;  ///< the client could not keep the schedule
  std::int64_t requests = 0;
  std::int64_t failed = 0;
  bool interrupted = false;
  /// A point whose first requests all failed alike (the model's fail_fast_after): the sweep
  /// stopped there, and the run should end with an error.
  std::optional<EarlyStop> stopped_early;
};

/// What measuring one load point gave.
struct LoadPointResult {
  bool complete = false;  ///< false: interrupted or stopped early
  std::optional<EarlyStop> stopped_early;
  std::int64_t failed = 0;
  std::optional<double> send_lag_p99_ms;  ///< over the measured requests; none when none sent
};

/// Where a load point stands, for its progress line.
struct LoadProgress {
  std::size_t point = 1;   ///< this point's number in the run's sweeps, from 1
  std::size_t points = 1;  ///< points in all the run's sweeps (stored ones included)
  std::string model;
  std::string mode;  ///< "concurrency" or "rate"
  double level = 0;
  std::int64_t done = 0;     ///< requests answered (warm-up included)
  std::int64_t planned = 0;  ///< requests it will send, warm-up included; 0: set by duration
  std::int64_t failed = 0;
  double elapsed_s = 0;   ///< since the point started
  double duration_s = 0;  ///< its measured seconds plus warm-up seconds; 0: set by count
};

/// "load point 2/6 (target at concurrency 4): 150/408 requests, 3 failed, 48.2 req/s, ETA 5s".
/// The ETA is this point's: its requests left at the rate so far, or its time left, the sooner.
[[nodiscard]] std::string load_progress_line(const LoadProgress& progress);

/// Measures one load point: `model` at `level` (a concurrency or a rate, by `load.mode`), asking
/// `suite`'s prompts in turn. Fills `row`'s counts and measurement window, and writes each
/// request's response to `store` under `row.phase`. With `options.progress`, reports a
/// load_progress_line about every `options.progress_every`, as point `number` of `points`.
LoadPointResult measure_load_point(const LoadSpec& load, ModelSlot& model, const SuiteSlot& suite,
                                   double level, LoadPointRow& row, Store& store,
                                   const RunnerOptions& options, std::uint64_t seed,
                                   std::size_t number = 1, std::size_t points = 1);

/// Measures every load point that the store does not hold as complete. A point that was
/// started but not completed (a killed or interrupted run) is measured again from scratch: a
/// measurement cannot be resumed half-way.
LoadCounts run_load_phases(Assembly& assembly, Store& store, const RunnerOptions& options);

/// The phase keys of every load point the run measures, in order of measurement.
[[nodiscard]] std::vector<std::string> planned_load_phases(Assembly& assembly);

/// The phase key of a load point: "load/<load>/<model>/<mode>=<level>".
[[nodiscard]] std::string load_phase_key(const LoadSpec& load, const std::string& model,
                                         double level);

}  // namespace medsafe
