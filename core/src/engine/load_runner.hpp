#pragma once
/// Drives the load phases of a run ([load.NAME]): each model at each concurrency (closed loop)
/// or rate (open loop, on an absolute schedule), with warm-up left out of the measurement window,
/// recording every request's timing and each point's schedule-keeping.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/assembly.hpp"
#include "engine/runner.hpp"
#include "engine/store.hpp"

namespace medsafe {

/// What the load phases of one invocation did.
struct LoadCounts {
  std::int64_t points_measured = 0;
  std::int64_t points_skipped = 0;  ///< complete in the store already
  std::int64_t points_invalid = 0;  ///< the client could not keep the schedule
  std::int64_t requests = 0;
  std::int64_t failed = 0;
  bool interrupted = false;
};

/// What measuring one load point gave.
struct LoadPointResult {
  bool complete = false;  ///< false: interrupted
  std::int64_t failed = 0;
  std::optional<double> send_lag_p99_ms;  ///< over the measured requests; none when none sent
};

/// Measures one load point: `model` at `level` (a concurrency or a rate, by `load.mode`), asking
/// `suite`'s prompts in turn. Fills `row`'s counts and measurement window, and writes each
/// request's response to `store` under `row.phase`.
LoadPointResult measure_load_point(const LoadSpec& load, ModelSlot& model, const SuiteSlot& suite,
                                   double level, LoadPointRow& row, Store& store,
                                   const RunnerOptions& options, std::uint64_t seed);

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
