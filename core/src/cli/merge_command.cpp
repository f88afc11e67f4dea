// `medsafe merge OUT DIR...`: the shards of a run (medsafe run --shard i/N) into one run
// directory, with every report, as if the run had been made on one machine.
#include <iostream>

#include "cli/commands.hpp"
#include "engine/ops/command_line.hpp"
#include "engine/ops/merge.hpp"
#include "engine/run/run_lock.hpp"
#include "engine/store/store.hpp"
#include "report/report_writer.hpp"
#include "report/run_reader.hpp"

namespace medsafe::cli {

int merge_command(const MergeCommandOptions& options, const CommonOptions& common) {
  std::vector<std::string> words = {options.program, "merge", options.out.string()};
  for (const std::filesystem::path& dir : options.dirs) words.push_back(dir.string());
  if (options.allow_missing) words.emplace_back("--allow-missing");
  const std::string command = shell_command(words);
  // The output's lock for the whole merge, reports included; the shards' are taken inside.
  const RunLock lock(options.out, command);
  MergeOptions merge;
  merge.out = options.out;
  merge.dirs = options.dirs;
  merge.allow_missing = options.allow_missing;
  merge.command = command;
  const MergeSummary summary = merge_shards(merge);
  Store store(options.out);
  const std::vector<std::filesystem::path> reports =
      write_reports(read_run(store, ReadScope::current_items, Texts::deferred), options.out);
  if (!summary.missing.empty()) {
    std::string missing;
    for (const int i : summary.missing)
      missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    std::cerr << "medsafe: warning: shards " << missing << " of " << summary.shard_count
              << " are missing: their items are in no figure; the reports say so\n";
  }
  if (!common.quiet) {
    std::cout << "merged " << summary.merged.size() << " of " << summary.shard_count
              << " shards into " << options.out.string() << ": " << summary.items << " items, "
              << summary.responses << " responses, " << summary.verdicts << " verdicts, "
              << summary.load_points << " load points\n";
    for (const std::filesystem::path& report : reports) {
      if (report.filename() == "report.html" || report.filename() == "report.md") {
        std::cout << "report: " << report.string() << "\n";
      }
    }
  }
  return kOk;
}

}  // namespace medsafe::cli
