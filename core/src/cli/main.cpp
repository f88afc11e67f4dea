// medsafe: how harmful and how fast is your LLM, above all for medicine.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>

#include "cli/allocator.hpp"
#include "cli/commands.hpp"
#include "cli/demos_command.hpp"
#include "medsafe/error.hpp"
#include "medsafe/plugin.hpp"
#include "medsafe/version.hpp"

namespace {

using namespace medsafe::cli;

int exit_code_for(medsafe::ErrorKind kind) {
  switch (kind) {
    case medsafe::ErrorKind::usage:
      return kUsage;
    case medsafe::ErrorKind::config:
      return kConfig;
    case medsafe::ErrorKind::plugin:
      return kPlugin;
    case medsafe::ErrorKind::data:
      return kData;
    case medsafe::ErrorKind::io:
    case medsafe::ErrorKind::store:
      return kIo;
    case medsafe::ErrorKind::internal:
      return kInternal;
  }
  return kInternal;
}

constexpr const char* kExitCodes = R"(Exit codes:
  0    done (failed requests and judge failures are results, counted in the report)
  1    internal error (a bug: please report it)
  2    bad command line
  3    bad run file or plugin configuration
  4    plugin not found, not loadable, or it threw
  5    dataset missing or malformed
  6    file, network or store failure; or a model's first requests all failed alike
       (no connection, HTTP 401/403/404: its fail_fast_after), reports written
  130  interrupted (SIGINT/SIGTERM): rerun the same command to resume)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"medsafe " MEDSAFE_VERSION
               ": measures how harmful and how fast an LLM is, above all for medicine.\n"
               "Runs are composed in TOML from backend, suite and judge plugins; results go to a "
               "run directory (store, results.json, summary.csv, report.md)."};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       "medsafe " MEDSAFE_VERSION " (plugin ABI " +
                           std::to_string(medsafe::kAbiVersion) + ", " + MEDSAFE_BUILD_ID +
                           ", allocator: " + medsafe::cli::allocator_description() + ")");

  CommonOptions common;
  std::string log_level;
  auto add_common = [&](CLI::App* command) {
    command->add_option("--plugin-path", common.plugin_paths,
                        "another folder to search for plugins (repeatable; also "
                        "MEDSAFE_PLUGIN_PATH)");
    command->add_option("--log-level", log_level, "debug, info, warn, error or off")
        ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
    command->add_flag("-q,--quiet", common.quiet, "print nothing but errors");
  };

  RunOptions run;
  std::string out;
  std::string shard;
  auto add_run_inputs = [&](CLI::App* command) {
    command->add_option("FILE", run.run_file, "the run file (TOML)")->required();
    command->add_option("--shard", shard,
                        "run only shard i/N of the items (e.g. 0/4), in <run directory>/"
                        "shard-i-of-N; 'none' for the whole run. Default: the task of a Slurm "
                        "job array, or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with "
                        "MEDSAFE_SHARD_COUNT (docs/scale-out.md)");
    command->add_option("--set", run.overrides,
                        "override a run-file key, e.g. --set models.target.temperature=0.7 "
                        "(repeatable; values in TOML syntax, bare words are strings). A --set "
                        "that changes a component's plugin drops the old plugin's keys that the "
                        "new one does not take, with a note");
    command->add_option("--unset", run.unsets,
                        "remove a run-file key (or table), e.g. --unset models.target.itl_ms "
                        "(repeatable; applied before every --set; the key must exist)");
    add_common(command);
  };

  CLI::App* run_cmd = app.add_subcommand(
      "run", "run (or resume) a run file: ask the models, judge the answers, write the reports");
  add_run_inputs(run_cmd);
  run_cmd->add_option("-o,--out", out,
                      "the run directory (default: [run] out, else runs/<name>); rerunning with "
                      "the same directory resumes");
  run_cmd->add_flag("--rerun-changed", run.rerun_changed,
                    "on resume, drop the stored answers and verdicts of items whose dataset row "
                    "changed since they were asked, and ask them again (without it such a resume "
                    "is refused)");
  run_cmd->footer(kExitCodes);

  CLI::App* validate_cmd = app.add_subcommand(
      "validate", "check a run file, its plugins and data without asking any model");
  add_run_inputs(validate_cmd);

  CLI::App* plugins_cmd = app.add_subcommand("plugins", "list the plugins medsafe can find");
  add_common(plugins_cmd);
  CLI::App* show_cmd = plugins_cmd->add_subcommand("show", "show a plugin's configuration keys");
  std::string show_name;
  show_cmd->add_option("NAME", show_name, "the plugin's name")->required();
  add_common(show_cmd);  // `plugins show NAME --plugin-path DIR` as well as `plugins --plugin-path`

  CLI::App* report_cmd =
      app.add_subcommand("report", "rebuild a run directory's reports from its store");
  std::string report_dir;
  report_cmd->add_option("DIR", report_dir, "the run directory")->required();
  add_common(report_cmd);

  CLI::App* doctor_cmd = app.add_subcommand(
      "doctor", "check a run directory: store integrity, counts, and what a resume would do");
  std::string doctor_dir;
  doctor_cmd->add_option("DIR", doctor_dir, "the run directory")->required();
  add_common(doctor_cmd);

  MergeCommandOptions merge;
  std::string merge_out;
  std::vector<std::string> merge_dirs;
  CLI::App* merge_cmd = app.add_subcommand(
      "merge", "put the shards of a run (run --shard i/N) together into one run directory");
  merge_cmd->add_option("OUT", merge_out, "the merged run directory")->required();
  merge_cmd
      ->add_option("DIR", merge_dirs,
                   "the shards' run directories, or folders holding them (shard-i-of-N)")
      ->required()
      ->expected(1, -1);
  merge_cmd->add_flag("--allow-missing", merge.allow_missing,
                      "merge even when some shards are missing (the reports name them)");
  add_common(merge_cmd);
  merge_cmd->footer(
      "Shards of different run files or configurations, duplicate or missing shards and shards "
      "still in use by medsafe are refused. docs/scale-out.md.");

  JudgeOptions judge;
  std::string judge_dir, judge_run;
  CLI::App* judge_cmd = app.add_subcommand(
      "judge", "add or replace judges' verdicts on a stored run without asking the models again");
  judge_cmd->add_option("DIR", judge_dir, "the run directory")->required();
  judge_cmd->add_option("--run", judge_run,
                        "the run file defining the judges (default: the one the run used; add "
                        "new [judges.NAME] tables to it or to a copy)");
  judge_cmd->add_option("-j,--judge", judge.judges, "a judge to run (repeatable; default: all)");
  judge_cmd->add_flag("--replace", judge.replace, "drop the judges' stored verdicts first");
  judge_cmd->add_option("--set", judge.overrides, "override a run-file key, as for `run`");
  judge_cmd->add_option("--unset", judge.unsets, "remove a run-file key, as for `run`");
  add_common(judge_cmd);

  CompareOptions compare;
  std::string compare_csv, compare_html, compare_md, compare_gate;
  CLI::App* compare_cmd = app.add_subcommand(
      "compare", "compare runs per principle; paired tests of each later run against the first");
  compare_cmd->add_option("RUN_DIR", compare.runs, "run directories; the first is the baseline")
      ->required()
      ->expected(2, -1);
  compare_cmd->add_option("--seed", compare.seed, "seed of the intervals and tests (default 1)");
  compare_cmd->add_option("--alpha", compare.alpha, "family-wise error rate (default 0.05)");
  CLI::Option* gate_flag = compare_cmd->add_flag(
      "--fail-if-worse{any}", compare_gate,
      "exit 10 when any principle (or =1,4: those principles; all: the overall "
      "row) got significantly worse");
  compare_cmd->add_flag("--allow-uncalibrated", compare.allow_uncalibrated,
                        "let --fail-if-worse decide although a judge feeding a gated row is "
                        "uncalibrated (below its calibration threshold) or drifted (canaries)");
  compare_cmd->add_option("--csv", compare_csv, "also write the comparison as CSV to FILE");
  compare_cmd->add_option("--html", compare_html, "also write the comparison as HTML to FILE");
  compare_cmd->add_option("--markdown", compare_md,
                          "write the Markdown to FILE instead of standard output");
  add_common(compare_cmd);
  compare_cmd->footer(
      "Exit codes: 0 done, 10 a gated principle got significantly worse "
      "(--fail-if-worse), others as for every command (docs/cli.md).");

  JudgeEvalOptions judge_eval;
  CLI::App* judge_eval_cmd = add_judge_eval_command(app, judge_eval);
  add_common(judge_eval_cmd);

  DemosOptions demos;
  const DemosCommands demos_cmds = add_demos_commands(app, demos);
  for (CLI::App* command : {demos_cmds.exporter, demos_cmds.generate, demos_cmds.validate}) {
    add_common(command);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  if (!log_level.empty()) common.log_level = medsafe::log_level_from_string(log_level);

  run.program = argv[0];
  if (!shard.empty()) run.shard = shard;
  judge.program = argv[0];
  demos.program = argv[0];
  try {
    if (run_cmd->parsed()) {
      if (!out.empty()) run.out = out;
      return run_command(run, common);
    }
    if (validate_cmd->parsed()) return validate_command(run, common);
    if (show_cmd->parsed()) return plugin_show_command(show_name, common);
    if (plugins_cmd->parsed()) return plugins_command(common);
    if (report_cmd->parsed()) return report_command(report_dir, common);
    if (doctor_cmd->parsed()) return doctor_command(doctor_dir, common);
    if (merge_cmd->parsed()) {
      merge.out = merge_out;
      merge.dirs.assign(merge_dirs.begin(), merge_dirs.end());
      merge.program = argv[0];
      return merge_command(merge, common);
    }
    if (judge_cmd->parsed()) {
      judge.dir = judge_dir;
      if (!judge_run.empty()) judge.run_file = judge_run;
      return judge_command(judge, common);
    }
    if (compare_cmd->parsed()) {
      if (!compare_csv.empty()) compare.csv = compare_csv;
      if (!compare_html.empty()) compare.html = compare_html;
      if (!compare_md.empty()) compare.markdown = compare_md;
      if (gate_flag->count() > 0) compare.fail_if_worse = compare_gate;
      return compare_command(compare, common);
    }
    if (judge_eval_cmd->parsed()) return judge_eval_command(judge_eval, common);
    if (demos_cmds.demos->parsed()) return demos_command(demos_cmds, demos, common);
  } catch (const medsafe::Error& e) {
    std::fprintf(stderr, "medsafe: %s\n", common.secrets->redact(e.what()).c_str());
    return exit_code_for(e.kind());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "medsafe: internal error: %s\n", common.secrets->redact(e.what()).c_str());
    return kInternal;
  }
  return kUsage;
}
