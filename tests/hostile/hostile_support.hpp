#pragma once
/// Helpers of the hostile-server tests: a prompt file and a run file around one model table,
/// the `medsafe` binary as a child process, the engine run in-process (to watch its progress
/// lines), and the store read back.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/run/runner.hpp"
#include "report/run_data.hpp"
#include "support/child_process.hpp"
#include "support/test_folder.hpp"

namespace medsafe::hostile {

namespace fs = std::filesystem;

using testing::ChildResult;
using testing::Environment;
using testing::read_file;
using testing::ScratchDir;
using testing::toml_string;
using testing::write_file;

/// Writes prompts.csv (`items` prompts) and run.toml into `dir`; returns the run file. The run
/// file has model "target" (the lines of its table given, `plugin = ...` included), suite
/// "prompts" (the table, with `suite_more` lines), and `extra` sections after them
/// ([judges.x], [models.judge], [load.x] ...).
fs::path write_run(const fs::path& dir, std::string_view model, int items = 3,
                   std::string_view extra = {}, std::string_view suite_more = {});

/// `[models.target]` lines for the openai backend at `base_url` ("http://127.0.0.1:N/v1").
[[nodiscard]] std::string openai_model(std::string_view base_url, std::string_view more = {});

/// Runs `medsafe ARGS...` (plugins next to the binary only) to its end, at most `timeout`.
ChildResult run_medsafe(const std::vector<std::string>& args, const fs::path& scratch,
                        std::chrono::milliseconds timeout = std::chrono::minutes(2),
                        Environment env = {});

/// `medsafe run FILE --out DIR`.
ChildResult run_to(const fs::path& run_file, const fs::path& out, const fs::path& scratch,
                   std::chrono::milliseconds timeout = std::chrono::minutes(2));

/// What an in-process run gave: its counts, every progress line, and the store's content.
struct EngineRun {
  InvocationCounts counts;
  std::vector<std::string> progress;
  RunData data;
};

/// Runs the safety phase of `run_file` in this process, as `medsafe run` does, with progress
/// reported every `progress_every`; the store goes to `out`.
EngineRun run_in_process(const fs::path& run_file, const fs::path& out,
                         std::chrono::milliseconds progress_every);

/// The store of `out` read back.
[[nodiscard]] RunData stored(const fs::path& out);

/// `medsafe-sim-server` as a process of its own, so the huge answers it makes take none of
/// the test process's memory (a spawned child's ru_maxrss counts its parent's peak too).
class SimServerProcess {
 public:
  /// Starts it with `settings` (the sim manifest's keys) and waits for its port.
  SimServerProcess(std::string_view settings, const fs::path& scratch);
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// "http://127.0.0.1:<port>/v1".
  [[nodiscard]] std::string base_url() const;

 private:
  std::unique_ptr<testing::Child> child_;
  std::uint16_t port_ = 0;
};

/// This process's own peak resident memory in KiB (getrusage).
[[nodiscard]] long own_peak_rss_kib();

/// Whether any of `lines` contains `text`.
[[nodiscard]] bool any_contains(const std::vector<std::string>& lines, std::string_view text);

}  // namespace medsafe::hostile
