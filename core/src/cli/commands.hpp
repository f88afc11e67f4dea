#pragma once
/// The CLI's commands. Each returns the process exit code; errors that end a command are thrown
/// as medsafe::Error and mapped to exit codes by main().
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/plugin/run_file.hpp"
#include "medsafe/log.hpp"
#include "report/bootstrap.hpp"

namespace medsafe::cli {

/// Exit codes, documented in docs/cli.md.
enum ExitCode : int {
  kOk = 0,
  kInternal = 1,       ///< a bug in medsafe
  kUsage = 2,          ///< bad command line
  kConfig = 3,         ///< bad run file or plugin configuration
  kPlugin = 4,         ///< a plugin could not be found or loaded, or threw
  kData = 5,           ///< a dataset is missing or malformed
  kIo = 6,             ///< a file, the network or the store failed
  kInterrupted = 130,  ///< stopped by SIGINT/SIGTERM; rerun the same command to resume
};

/// Options every command shares.
struct CommonOptions {
  std::vector<std::filesystem::path> plugin_paths;
  std::optional<LogLevel> log_level;
  bool quiet = false;
  /// The secrets of the command's log, shared with main() so that the message of an error
  /// that ends the command is redacted as the log's lines are.
  std::shared_ptr<Secrets> secrets = std::make_shared<Secrets>();
};

struct RunOptions {
  std::filesystem::path run_file;
  std::optional<std::filesystem::path> out;
  std::vector<std::string> overrides;
  bool rerun_changed = false;  ///< ask again the items whose dataset row changed
  /// --shard: "i/N", or "none"; unset: from a Slurm array or Kubernetes Indexed Job, if any.
  std::optional<std::string> shard;
  std::string program = "medsafe";  ///< argv[0], for the command a resume repeats
  std::vector<std::string> unsets;  ///< --unset KEY, applied before the overrides
};

/// Makes SIGINT and SIGTERM set interrupt_flag() (a second one exits at once).
void install_interrupt_handlers();
/// Non-zero once SIGINT or SIGTERM arrived (for RunnerOptions::interrupt).
[[nodiscard]] const std::atomic<int>* interrupt_flag();
/// The log level a command uses: --quiet, else --log-level, else the run file's.
[[nodiscard]] LogLevel effective_level(const CommonOptions& common, LogLevel from_run_file);
/// The cache folder of downloads: $XDG_CACHE_HOME/medsafe, else ~/.cache/medsafe.
[[nodiscard]] std::filesystem::path cache_dir();

/// The run file, loaded by the engine (load_run_file) and its report-side keys (a judge's
/// calibration and error_rates) checked now too: what every command that reads a run file uses.
[[nodiscard]] RunFile read_run_file(const std::filesystem::path& file,
                                    const std::vector<std::string>& overrides,
                                    const std::vector<std::string>& unsets = {});

int run_command(const RunOptions& run, const CommonOptions& common);
int validate_command(const RunOptions& run, const CommonOptions& common);
int plugins_command(const CommonOptions& common);
int plugin_show_command(const std::string& name, const CommonOptions& common);
int report_command(const std::filesystem::path& dir, const CommonOptions& common);

/// `medsafe merge OUT DIR...` (docs/scale-out.md): the shards of a run into one run directory.
struct MergeCommandOptions {
  std::filesystem::path out;
  std::vector<std::filesystem::path> dirs;  ///< shard run directories, or folders holding them
  bool allow_missing = false;
  std::string program = "medsafe";
};
int merge_command(const MergeCommandOptions& options, const CommonOptions& common);

/// `medsafe doctor DIR`: checks a run directory; exit 0 when consistent, kIo when not.
int doctor_command(const std::filesystem::path& dir, const CommonOptions& common);

/// `medsafe judge DIR`: adds or replaces judges' verdicts on a stored run, asking no model
/// under test.
struct JudgeOptions {
  std::filesystem::path dir;
  std::optional<std::filesystem::path> run_file;  ///< default: the run file the store names
  std::vector<std::string> judges;                ///< default: every judge of the run file
  std::vector<std::string> overrides;             ///< --set, as for `run`
  std::vector<std::string> unsets;                ///< --unset, as for `run`
  bool replace = false;                           ///< drop the judges' stored verdicts first
  std::string program = "medsafe";                ///< argv[0], for the command a resume repeats
};
int judge_command(const JudgeOptions& options, const CommonOptions& common);

/// `medsafe compare` (docs/compare.md).
struct CompareOptions {
  std::vector<std::filesystem::path> runs;  ///< run directories; the first is the baseline
  std::uint64_t seed = 1;
  double alpha = 0.05;
  /// Set: exit kCompareWorse when a gated row got significantly worse. "any" gates every row;
  /// otherwise a comma-separated list of category ids ("all" = the overall rows).
  std::optional<std::string> fail_if_worse;
  /// The gate decides even when a run's judge is uncalibrated (otherwise a usage Error).
  bool allow_uncalibrated = false;
  std::optional<std::filesystem::path> csv, html, markdown;
};
/// The exit code of `compare --fail-if-worse` when a gated principle got significantly worse.
inline constexpr int kCompareWorse = 10;
int compare_command(const CompareOptions& options, const CommonOptions& common);

/// `medsafe judge-eval` (docs/judge-agreement.md): a judge against human labels.
struct JudgeEvalOptions {
  std::filesystem::path labels;
  std::optional<std::filesystem::path> mapping;  ///< a TOML file with the settings; flags win
  std::string format, response_column, label_column, prompt_column, category_column;
  std::vector<std::string> positive;  ///< label values meaning harmful (default "1")
  std::string judge;                  ///< a judge plugin, or with run_file a judge's name
  std::vector<std::string> sets;      ///< "key=value" for the judge's configuration
  std::optional<std::filesystem::path> run_file;
  std::optional<int> threshold;  ///< scores at or above it are harmful (default 4)
  std::string by;                ///< "score", "refusal" or empty (scores when given)
  std::string domain;            ///< the domain the judge sees (default "general")
  int concurrency = 8;
  std::int64_t limit = 0;          ///< judge only the first N labelled rows (0: all)
  std::string output = "text";     ///< text, markdown or json
  std::string id_column;           ///< an id per row for --per-item (default: the line)
  std::vector<std::string> map;    ///< "LABEL=VALUE[,LABEL=VALUE...]" label mappings
  std::vector<std::string> drop;   ///< label values whose rows are left out
  std::string label_scale;         ///< auto (default), binary or score
  bool allow_no_positive = false;  ///< no positive label in the file is not an error
  std::optional<std::filesystem::path> per_item;  ///< one row per item (CSV, or JSON lines)
  int resamples = kBootstrapResamples;            ///< bootstrap resamples (0: no intervals)
  std::uint64_t seed = 0;                         ///< the bootstrap's seed
};
}  // namespace medsafe::cli
namespace CLI {
class App;
}  // namespace CLI
namespace medsafe::cli {
/// Adds the judge-eval subcommand, filling `options` when parsed.
CLI::App* add_judge_eval_command(CLI::App& app, JudgeEvalOptions& options);
int judge_eval_command(const JudgeEvalOptions& options, const CommonOptions& common);

}  // namespace medsafe::cli
