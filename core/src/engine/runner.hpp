#pragma once
/// Drives a run: asks every model for every missing answer within its concurrency cap, judges
/// answers as they arrive, and commits each result to the store as it comes.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "engine/assembly.hpp"
#include "engine/store.hpp"

namespace medsafe {

/// Counts of one run invocation (this process only, not what a previous run stored).
struct RunCounts {
  std::int64_t planned = 0;         ///< answers this invocation set out to get
  std::int64_t answered = 0;        ///< ok responses received
  std::int64_t failed = 0;          ///< failed responses received
  std::int64_t already_done = 0;    ///< answers found in the store and not asked again
  std::int64_t judged = 0;          ///< verdicts received (any status)
  std::int64_t judge_failures = 0;  ///< verdicts with parse_failure or error
  std::int64_t unfinished = 0;      ///< answers not obtained because the run was interrupted
  bool interrupted = false;
};

struct RunnerOptions {
  /// Set to non-zero (e.g. by a signal handler) to stop scheduling; in-flight requests get
  /// `grace` to finish, then are cancelled.
  const std::atomic<int>* interrupt = nullptr;
  std::chrono::milliseconds grace{5000};
  /// Progress: called about once a second with a one-line status (empty function: silent).
  std::function<void(const std::string& line, bool final)> progress;
  std::chrono::milliseconds progress_every{1000};
};

/// Records the run's components in the store and refuses to mix answers from a changed model,
/// suite configuration into an existing run directory. A judge whose configuration changed has
/// its stored verdicts dropped, so they are made again.
void record_run(Store& store, Assembly& assembly, Log& log);

/// Runs what is missing. Returns when everything was asked and judged, or after an interrupt.
RunCounts run_missing(Assembly& assembly, Store& store, const RunnerOptions& options);

}  // namespace medsafe
