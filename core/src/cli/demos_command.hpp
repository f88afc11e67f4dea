#pragma once
/// `medsafe demos export | generate | validate` (docs/mitigation.md, docs/cli.md).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace medsafe::cli {

/// The flags of the demos subcommands (each uses its own part).
struct DemosOptions {
  // export and generate
  std::filesystem::path out;
  std::vector<std::string> formats;  ///< openai, alpaca, sharegpt (default: all)
  double val = 0;
  std::uint64_t seed = 0;
  bool skip_empty = false;
  std::vector<std::filesystem::path> against;
  double near_threshold = 0.8;
  bool drop_leaked = false;
  bool allow_leaked = false;
  std::vector<std::string> overrides;  ///< --set, on the run file
  std::vector<std::string> suites;     ///< --suite
  // export
  std::string run_file;                          ///< optional for export
  std::vector<std::filesystem::path> generated;  ///< --from-generated
  std::vector<std::string> mix;                  ///< SUITE=RATIO
  std::vector<std::string> mix_files;            ///< FILE=RATIO
  // generate
  std::string teacher;
  std::vector<std::string> judges;
  // validate
  std::vector<std::filesystem::path> files;
  std::string format;
  std::string program = "medsafe";  ///< argv[0], for the command a resume repeats
};

/// The demos subcommands, to tell which one was parsed.
struct DemosCommands {
  CLI::App* demos = nullptr;
  CLI::App* exporter = nullptr;
  CLI::App* generate = nullptr;
  CLI::App* validate = nullptr;
};

/// Adds `demos` and its subcommands to `app`, filling `options` when parsed.
DemosCommands add_demos_commands(CLI::App& app, DemosOptions& options);

/// Runs the demos subcommand that was parsed.
int demos_command(const DemosCommands& commands, const DemosOptions& options,
                  const CommonOptions& common);

}  // namespace medsafe::cli
