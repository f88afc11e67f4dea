#pragma once
/// Run files: the TOML that composes a run from models, suites and judges.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/config.hpp"
#include "medsafe/log.hpp"

namespace medsafe {

/// One [models.X], [suites.X] or [judges.X] table.
struct ComponentSpec {
  std::string section;  ///< "models", "suites" or "judges"
  std::string name;     ///< X
  std::string plugin;   ///< the plugin that implements it
  /// The table as written (after --set), plugin keys and core keys; shares ownership of the
  /// parsed file so that every node keeps its file position.
  std::shared_ptr<const toml::table> table;
  Config core;           ///< the core keys (plugin, concurrency, ...), validated
  SourceLocation where;  ///< the table header
  /// The component's table as canonical JSON before any ${ENV} expansion: compared on resume
  /// to notice that a run directory's answers came from another configuration.
  std::string fingerprint;
  /// The plugin the run file named when a --set gave the component another one ("" when none
  /// did): that plugin's keys which the new one does not take are dropped (drop_keys) when the
  /// run is assembled.
  std::string replaced_plugin;

  [[nodiscard]] std::string owner() const { return section + "." + name; }
};

/// What a suite's items should get: refusals (harmful requests: the harm rates' denominators)
/// or answers (benign prompts: the over-refusal rate's).
enum class Expect : std::uint8_t { refuse, comply };
/// "refuse" or "comply", as the run file and the store write it.
[[nodiscard]] std::string_view to_string(Expect expect) noexcept;

/// A [models.X] table, its core keys read once (flow control's are FlowSettings', read from
/// `core` by the assembly).
struct ModelSpec : ComponentSpec {
  bool under_test = true;  ///< its answers are scored (false: a judge's or a wrapper's model)
};

/// A [suites.X] table, its core keys read once.
struct SuiteSpec : ComponentSpec {
  bool safety = true;              ///< its items are asked in the safety phase
  Expect expect = Expect::refuse;  ///< what its items should get, unless an item says otherwise
};

/// A [judges.X] table, its core keys read once.
struct JudgeSpec : ComponentSpec {
  int concurrency = 1;              ///< answers judged at once
  std::vector<std::string> suites;  ///< the suites it judges; empty: all
};

/// The [run] table.
struct RunSettings {
  std::string name;
  std::uint64_t seed = 0;
  int samples = 1;
  std::string primary_judge;
  std::string refusal_judge;
  std::vector<std::filesystem::path> plugin_paths;
  std::filesystem::path out;  ///< empty: runs/<name> in the current folder
  LogLevel log_level = LogLevel::info;
  bool retry_failed = true;
  int http_threads = 0;  ///< the transport's I/O threads; 0: its default
};

/// How a load point drives its model.
enum class LoadMode : std::uint8_t {
  concurrency,  ///< closed loop: a fixed number of requests in flight
  rate,         ///< open loop: requests sent on a schedule, whatever is in flight
};

/// One [load.NAME] table: a latency and throughput measurement, a sweep over `levels`.
struct LoadSpec {
  std::string name;
  SourceLocation where;
  Config core;                      ///< the validated table
  std::vector<std::string> models;  ///< models it drives (default: every model under test)
  std::string suite;  ///< the suite whose prompts are sent, cycled (at most kItemWindow)
  LoadMode mode = LoadMode::concurrency;
  std::vector<double> levels;  ///< concurrencies, or rates in requests per second
  bool poisson = true;         ///< rate mode: Poisson arrivals, else constant spacing
  std::int64_t requests = 0;   ///< measured requests per point (0: by duration only)
  double duration_s = 0;       ///< measured seconds per point (0: by count only)
  std::int64_t warmup_requests = 0;
  double warmup_s = 0;
  double max_send_lag_ms = 0;      ///< p99 send lag above this marks a point invalid
  std::int64_t max_in_flight = 0;  ///< rate mode: cap on requests in flight
  std::optional<std::int64_t> max_tokens;
  bool ignore_eos = false;
  double slo_ttft_ms = 0;  ///< SLOs for goodput (0: none)
  double slo_tpot_ms = 0;
  double slo_e2e_ms = 0;
};

/// A parsed run file: the core keys are checked here; each component's plugin keys are checked
/// against its manifest when the run is assembled.
struct RunFile {
  std::filesystem::path file;  ///< absolute
  std::filesystem::path dir;   ///< relative paths resolve against it
  RunSettings run;
  std::vector<ModelSpec> models;  ///< in file order
  std::vector<SuiteSpec> suites;
  std::vector<JudgeSpec> judges;
  std::vector<LoadSpec> loads;         ///< in file order, run after the safety phase
  std::string text;                    ///< the file as read
  std::vector<std::string> overrides;  ///< the --set assignments applied to it, in order
  std::vector<std::string> unsets;     ///< the --unset keys removed from it, before overrides
};

/// Reads `file`, removes the keys of `unsets` ("models.target.itl_ms"; each must exist), then
/// applies `overrides` ("models.target.temperature=0.7", values in TOML syntax, bare words
/// taken as strings) and checks the core keys. Errors carry file:line:column.
[[nodiscard]] RunFile load_run_file(const std::filesystem::path& file,
                                    const std::vector<std::string>& overrides,
                                    const std::vector<std::string>& unsets = {});

/// Removes `keys` from a component's table and takes its fingerprint again.
void drop_keys(ComponentSpec& spec, const std::vector<std::string>& keys);

/// The same from the text of a run file that was at `file` (relative paths resolve against its
/// folder): `medsafe doctor` reads the run file a store recorded, as it was then.
[[nodiscard]] RunFile parse_run_file(const std::filesystem::path& file, std::string text,
                                     const std::vector<std::string>& overrides,
                                     const std::vector<std::string>& unsets = {});

/// The core keys of each section, for validation and for `medsafe` help.
[[nodiscard]] const ConfigSchema& run_schema();
[[nodiscard]] const ConfigSchema& model_core_schema();
[[nodiscard]] const ConfigSchema& suite_core_schema();
[[nodiscard]] const ConfigSchema& judge_core_schema();
[[nodiscard]] const ConfigSchema& load_schema();

}  // namespace medsafe
