#pragma once
/// Drives the load phases of a run ([load.NAME]): each model at each concurrency (closed loop)
/// or rate (open loop, on an absolute schedule), with warm-up left out of the measurement window,
/// recording every request's timing and each point's schedule-keeping.
#include <cstdint>

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

/// Measures every load point that the store does not hold as complete. A point that was
/// started but not completed (a killed or interrupted run) is measured again from scratch: a
/// measurement cannot be resumed half-way.
LoadCounts run_load_phases(Assembly& assembly, Store& store, const RunnerOptions& options);

/// The phase key of a load point: "load/<load>/<model>/<mode>=<level>".
[[nodiscard]] std::string load_phase_key(const LoadSpec& load, const std::string& model,
                                         double level);

}  // namespace medsafe
