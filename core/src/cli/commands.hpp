#pragma once
/// The CLI's commands. Each returns the process exit code; errors that end a command are thrown
/// as medsafe::Error and mapped to exit codes by main().
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "medsafe/log.hpp"

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
};

struct RunOptions {
  std::filesystem::path run_file;
  std::optional<std::filesystem::path> out;
  std::vector<std::string> overrides;
};

int run_command(const RunOptions& run, const CommonOptions& common);
int validate_command(const RunOptions& run, const CommonOptions& common);
int plugins_command(const CommonOptions& common);
int plugin_show_command(const std::string& name, const CommonOptions& common);
int report_command(const std::filesystem::path& dir, const CommonOptions& common);

}  // namespace medsafe::cli
