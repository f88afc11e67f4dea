// `medsafe demos`: safety demonstrations for fine-tuning (docs/mitigation.md).
#include "cli/demos_command.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <memory>

#include "engine/ops/command_line.hpp"
#include "engine/plugin/assembly.hpp"
#include "engine/plugin/run_file.hpp"
#include "engine/run/run_lock.hpp"
#include "engine/run/runner.hpp"
#include "engine/store/store.hpp"
#include "medsafe/error.hpp"
#include "report/demos_export.hpp"
#include "report/demos_generate.hpp"
#include "report/report_io.hpp"
#include "report/report_writer.hpp"
#include "report/run_reader.hpp"

namespace medsafe::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kExportFooter = R"(Files written to --out DIR:
  train.openai.jsonl  train.alpaca.json  train.sharegpt.json   (val.* too with --val)
  demonstrations.jsonl  every demonstration with its split, source and provenance
  export.json           counts, sources, mix, split and leakage summary
  leakage.json          with --against: every leak found (exact and near-duplicate pairs)
Formats: docs/demos/*.schema.json. Recipe: docs/mitigation.md.
Exit codes: 0 done, 5 a dataset problem (an empty reference answer, a malformed demonstration
file) or a leak refused (nothing exported; see leakage.json), others as for every command.)";

constexpr const char* kGenerateFooter =
    R"(Also in --out: the store (medsafe.db: every answer and verdict, approved or not) and
the teacher's reports (report.html, results.json, ...). Interrupted (exit 130) or killed, the
same command resumes: it asks only what is missing, and the demonstrations are the same.)";

// "NAME=RATIO" (the last '=' splits, so a file name may hold one).
std::pair<std::string, double> parse_mix(const std::string& text, const char* flag) {
  const std::size_t eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw Error(ErrorKind::usage, std::string(flag) + " '" + text + "': write NAME=RATIO, e.g. " +
                                      flag + " benign=0.5");
  }
  const std::string ratio_text = text.substr(eq + 1);
  double ratio = -1;
  try {
    std::size_t used = 0;
    ratio = std::stod(ratio_text, &used);
    if (used != ratio_text.size()) ratio = -1;
  } catch (const std::exception&) {
    ratio = -1;
  }
  if (!(ratio >= 0) || ratio > 1000) {
    throw Error(ErrorKind::usage, std::string(flag) + " '" + text + "': the ratio '" + ratio_text +
                                      "' must be a number from 0 (demonstrations of that source "
                                      "per primary demonstration)");
  }
  return {text.substr(0, eq), ratio};
}

ExportSettings export_settings(const DemosOptions& o) {
  ExportSettings settings;
  settings.out = o.out;
  if (!o.formats.empty()) {
    settings.formats.clear();
    for (const std::string& name : o.formats) {
      const auto format = demo_format_named(name);
      if (!format) {
        throw Error(ErrorKind::usage,
                    "--format '" + name + "': one of openai, alpaca, sharegpt (comma-separated)");
      }
      if (std::find(settings.formats.begin(), settings.formats.end(), *format) ==
          settings.formats.end()) {
        settings.formats.push_back(*format);
      }
    }
  }
  if (!(o.val >= 0 && o.val < 1)) {
    throw Error(ErrorKind::usage, "--val " + format_fixed(o.val, 3) +
                                      ": the validation share must be at least 0 and below 1");
  }
  settings.val = o.val;
  settings.seed = o.seed;
  if (o.drop_leaked && o.allow_leaked) {
    throw Error(ErrorKind::usage, "--drop-leaked and --allow-leaked exclude each other");
  }
  settings.leaked = o.drop_leaked    ? LeakPolicy::drop
                    : o.allow_leaked ? LeakPolicy::allow
                                     : LeakPolicy::refuse;
  if (!(o.near_threshold > 0 && o.near_threshold <= 1)) {
    throw Error(ErrorKind::usage, "--near-threshold must be above 0 and at most 1");
  }
  return settings;
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code error;
  return fs::equivalent(a, b, error);
}

// The evaluation prompts of every --against run file (their safety suites), leaving out suites
// of `exported_from` named in `exported` (exported and checked from the same run file).
std::unique_ptr<LeakageIndex> leakage_index(const DemosOptions& o, const CommonOptions& common,
                                            const fs::path& exported_from,
                                            const std::vector<std::string>& exported,
                                            ExportSettings& settings, Log& log) {
  if (o.against.empty()) return nullptr;
  std::vector<LeakageTarget> targets;
  for (const fs::path& file : o.against) {
    Assembly evaluation(read_run_file(file, {}), common.plugin_paths, log, cache_dir(),
                        Assembly::Parts::suites);
    evaluation.load_suites();
    const bool same = !exported_from.empty() && same_file(file, exported_from);
    std::vector<LeakageTarget> more =
        leakage_targets(evaluation, same ? exported : std::vector<std::string>{});
    nlohmann::json suites = nlohmann::json::array();
    for (const SuiteSlot& s : evaluation.suites()) {
      const bool skipped =
          same && std::find(exported.begin(), exported.end(), s.spec->name) != exported.end();
      if (!s.spec->safety || skipped) continue;
      suites.push_back({{"suite", s.spec->name}, {"items", s.items.size()}});
    }
    settings.against.push_back({{"run_file", evaluation.run().file.string()}, {"suites", suites}});
    std::move(more.begin(), more.end(), std::back_inserter(targets));
  }
  if (targets.empty()) {
    throw Error(ErrorKind::usage,
                "--against: the run files hold no evaluation suite (a suite with safety = true) "
                "to check against");
  }
  return std::make_unique<LeakageIndex>(std::move(targets), o.near_threshold);
}

// An unknown suite name is a usage Error listing the run file's.
void require_suites(const RunFile& run, const std::vector<std::string>& names, const char* flag) {
  for (const std::string& name : names) {
    const bool found = std::any_of(run.suites.begin(), run.suites.end(),
                                   [&](const ComponentSpec& s) { return s.name == name; });
    if (!found) {
      std::string known;
      for (const ComponentSpec& s : run.suites) known += (known.empty() ? "" : ", ") + s.name;
      throw Error(ErrorKind::usage,
                  std::string(flag) + " '" + name + "': " + run.file.string() + " has no suite '" +
                      name + "'; its suites: " + (known.empty() ? std::string("none") : known));
    }
  }
}

// Keeps the suites a command names (all when none is named); an unknown name is a usage Error.
void keep_suites(RunFile& run, const std::vector<std::string>& names, const char* flag) {
  require_suites(run, names, flag);
  if (names.empty()) return;
  std::erase_if(run.suites, [&](const ComponentSpec& s) {
    return std::find(names.begin(), names.end(), s.name) == names.end();
  });
}

void print_summary(const ExportSummary& summary, const ExportSettings& settings,
                   const CommonOptions& common) {
  for (const std::string& note : summary.notes) std::cerr << "medsafe: note: " << note << "\n";
  if (common.quiet) return;
  std::cout << "wrote " << summary.train + summary.val << " demonstrations (train "
            << summary.train;
  if (settings.val > 0) std::cout << ", val " << summary.val;
  std::cout << ") to " << settings.out.string() << ":";
  for (const fs::path& file : summary.files) std::cout << " " << file.filename().string();
  std::cout << "\n";
  if (summary.manifest["leakage"].value("checked", false)) {
    std::cout << "leakage: " << summary.exact_leaks << " exact, " << summary.near_leaks
              << " near-duplicate";
    if (summary.dropped_leaks > 0) std::cout << "; " << summary.dropped_leaks << " dropped";
    if (settings.leaked == LeakPolicy::allow && summary.exact_leaks + summary.near_leaks > 0) {
      std::cout << "; exported anyway (--allow-leaked)";
    }
    std::cout << " (leakage.json)\n";
    for (const std::string& e : summary.examples) std::cout << "  " << e << "\n";
  }
}

int export_command(const DemosOptions& o, const CommonOptions& common) {
  ExportSettings settings = export_settings(o);
  auto log = make_console_log(effective_level(common, LogLevel::warn));
  std::vector<std::pair<std::string, double>> mix_suites;
  for (const std::string& m : o.mix) mix_suites.push_back(parse_mix(m, "--mix"));
  std::vector<DemoSource> primary;
  std::vector<MixedSource> mixes;
  std::vector<std::string> exported;
  fs::path run_path;
  if (o.run_file.empty() && (!o.suites.empty() || !o.mix.empty() || !o.overrides.empty())) {
    throw Error(ErrorKind::usage, "--suite, --mix and --set name parts of a run file: give it");
  }
  if (!o.run_file.empty()) {
    RunFile run = read_run_file(o.run_file, o.overrides);
    run_path = run.file;
    std::vector<std::string> names = o.suites;
    if (names.empty()) {
      for (const ComponentSpec& s : run.suites) {
        const bool mixed = std::any_of(mix_suites.begin(), mix_suites.end(),
                                       [&s](const auto& m) { return m.first == s.name; });
        if (!mixed) names.push_back(s.name);
      }
    }
    std::vector<std::string> wanted = names;
    for (const auto& m : mix_suites) wanted.push_back(m.first);
    require_suites(run, o.suites, "--suite");
    keep_suites(run, wanted, "--mix");
    Assembly assembly(std::move(run), common.plugin_paths, *log, cache_dir(),
                      Assembly::Parts::suites);
    assembly.load_suites();
    const std::string file = assembly.run().file.string();
    for (const SuiteSlot& slot : assembly.suites()) {
      if (std::find(names.begin(), names.end(), slot.spec->name) == names.end()) continue;
      primary.push_back(suite_demonstrations(slot, file, o.skip_empty));
      exported.push_back(slot.spec->name);
    }
    for (const auto& [name, ratio] : mix_suites) {
      for (const SuiteSlot& slot : assembly.suites()) {
        if (slot.spec->name != name) continue;
        mixes.push_back({suite_demonstrations(slot, file, o.skip_empty), ratio});
        exported.push_back(name);
      }
    }
  }
  for (const fs::path& dir : o.generated) {
    if (!fs::exists(Store::file_in(dir))) {
      throw Error(ErrorKind::io, dir.string() +
                                     ": error: no medsafe store here; is it a folder "
                                     "written by `medsafe demos generate`?");
    }
    Store store(dir, Store::Mode::read_only);
    primary.push_back(generated_demonstrations(store));
  }
  for (const std::string& m : o.mix_files) {
    const auto [name, ratio] = parse_mix(m, "--mix-file");
    const auto format = demo_format_of(name);
    if (!format) {
      throw Error(ErrorKind::usage, "--mix-file '" + name +
                                        "': name the file *.openai.jsonl (or *.jsonl), "
                                        "*.alpaca.json or *.sharegpt.json so its format is known");
    }
    mixes.push_back({file_demonstrations(name, *format, o.skip_empty), ratio});
  }
  if (primary.empty()) {
    throw Error(ErrorKind::usage,
                "nothing to export: give a run file (its suites with reference answers) or "
                "--from-generated DIR");
  }
  const auto index = leakage_index(o, common, run_path, exported, settings, *log);
  const ExportSummary summary =
      export_demonstrations(std::move(primary), std::move(mixes), index.get(), settings);
  print_summary(summary, settings, common);
  return kOk;
}

// A number as a person types it: "0.1", not "0.100000".
std::string number_word(double value) {
  std::string text = format_fixed(value, 6);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

// The `medsafe demos generate` that continues this one.
std::string generate_command_line(const DemosOptions& o, const CommonOptions& common) {
  std::vector<std::string> words = {o.program,   "demos",   "generate", o.run_file,
                                    "--teacher", o.teacher, "--out",    o.out.string()};
  auto add = [&words](const char* flag, const auto& values) {
    for (const auto& v : values) words.insert(words.end(), {flag, fs::path(v).string()});
  };
  add("--judge", o.judges);
  add("--suite", o.suites);
  add("--set", o.overrides);
  add("--format", o.formats);
  add("--against", o.against);
  if (o.val > 0) words.insert(words.end(), {"--val", number_word(o.val)});
  if (o.seed != 0) words.insert(words.end(), {"--seed", std::to_string(o.seed)});
  if (!o.against.empty()) {
    words.insert(words.end(), {"--near-threshold", number_word(o.near_threshold)});
  }
  if (o.drop_leaked) words.emplace_back("--drop-leaked");
  if (o.allow_leaked) words.emplace_back("--allow-leaked");
  for (const fs::path& folder : common.plugin_paths) {
    words.insert(words.end(), {"--plugin-path", folder.string()});
  }
  if (common.quiet) words.emplace_back("-q");
  return shell_command(words);
}

int generate_command(const DemosOptions& o, const CommonOptions& common) {
  ExportSettings settings = export_settings(o);
  RunFile run = read_run_file(o.run_file, o.overrides);
  run.loads.clear();  // answers only: no latency sweep
  keep_suites(run, o.suites, "--suite");
  const GenerateSetup setup = check_generate_setup(run, o.teacher, o.judges);
  auto log = make_console_log(effective_level(common, run.run.log_level));
  Assembly assembly(std::move(run), common.plugin_paths, *log, cache_dir());
  assembly.load_suites();
  const GenerationPlan plan = prepare_generation(assembly, setup);
  // A bad --against fails here, before any model is asked.
  const auto index = leakage_index(o, common, {}, {}, settings, *log);

  const std::string command = generate_command_line(o, common);
  const RunLock lock(o.out, command);
  Store store(o.out);
  check_generation_folder(store, setup);
  record_run(store, assembly, *log);
  record_generation(store, setup);
  store.set_meta("resume_command", command);
  (void)store.begin_session(command);
  if (!common.quiet) {
    std::string judges;
    for (const std::string& j : setup.judges) judges += (judges.empty() ? "" : ", ") + j;
    std::cerr << "medsafe: demos generate in " << o.out.string() << ": teacher '" << setup.teacher
              << "' answers " << plan.prompts << " prompts (" << plan.referenced
              << " with a reference answer left out); kept when all of " << judges << " approve\n";
  }

  install_interrupt_handlers();
  RunnerOptions runner;
  runner.interrupt = interrupt_flag();
  runner.judges = setup.judges;
  runner.progress_every = std::chrono::seconds(10);
  if (!common.quiet) {
    runner.progress = [](const std::vector<std::string>& lines, bool /*final*/) {
      for (const std::string& line : lines) std::cerr << "medsafe: " << line << "\n";
    };
  }
  const InvocationCounts counts = run_missing(assembly, store, runner);
  store.end_session();
  (void)write_reports(read_run(store), o.out);
  if (counts.interrupted) {
    std::cerr << "medsafe: interrupted: everything received is stored in " << store.file().string()
              << "\nmedsafe: to resume, run the same command again: " << command << "\n";
    return kInterrupted;
  }
  GeneratedCounts generated;
  DemoSource demos = generated_demonstrations(store, &generated);
  if (!common.quiet) {
    std::cout << "generated: " << generated.approved << " of " << generated.prompts
              << " prompts have an approved answer; " << generated.rejected
              << " answers rejected by the judges, " << generated.failed << " failed requests, "
              << generated.unjudged << " answers without every verdict, "
              << generated.judge_failures << " judge failures (report.html has the teacher's "
              << "scores)\n";
  }
  std::vector<DemoSource> primary;
  primary.push_back(std::move(demos));
  const ExportSummary summary =
      export_demonstrations(std::move(primary), {}, index.get(), settings);
  print_summary(summary, settings, common);
  return kOk;
}

int validate_command(const DemosOptions& o, const CommonOptions& common) {
  for (const fs::path& file : o.files) {
    const auto format = o.format.empty() ? demo_format_of(file) : demo_format_named(o.format);
    if (!format) {
      throw Error(ErrorKind::usage,
                  o.format.empty()
                      ? file.string() + ": the name does not say the format: give --format"
                      : "--format '" + o.format + "': one of openai, alpaca, sharegpt");
    }
    std::size_t skipped = 0;
    const std::vector<DemoPair> pairs = read_demo_file(file, *format, o.skip_empty, &skipped);
    if (!common.quiet) {
      std::cout << file.string() << ": ok, " << pairs.size() << " demonstrations ("
                << to_string(*format) << ")";
      if (skipped > 0) std::cout << ", " << skipped << " without an answer left out";
      std::cout << "\n";
    }
  }
  return kOk;
}

// The flags `export` and `generate` share: where and how the files are written.
void add_output_flags(CLI::App* command, DemosOptions& o) {
  command->add_option("-o,--out", o.out, "the folder to write to")->required();
  command
      ->add_option("--format", o.formats,
                   "openai, alpaca and/or sharegpt (comma-separated; default: all three)")
      ->delimiter(',');
  command->add_option("--val", o.val,
                      "share of demonstrations in the validation split, by a stable hash of the "
                      "normalised request (default 0: none)");
  command->add_option("--seed", o.seed, "seed of the split, the mix samples and the order (0)");
  command->add_option("--against", o.against,
                      "check for leakage against the evaluation (safety) suites of this run file "
                      "(repeatable)");
  command->add_option("--near-threshold", o.near_threshold,
                      "Jaccard similarity of word 5-shingles at which a request is a "
                      "near-duplicate of an evaluation prompt (default 0.8)");
  command->add_flag("--drop-leaked", o.drop_leaked,
                    "export without the leaked demonstrations (counted) instead of refusing");
  command->add_flag("--allow-leaked", o.allow_leaked,
                    "export the leaked demonstrations anyway (counted, listed in leakage.json)");
  command->add_option("--set", o.overrides, "override a run-file key, as for `run`");
  command->footer(kExportFooter);
}

}  // namespace

DemosCommands add_demos_commands(CLI::App& app, DemosOptions& o) {
  DemosCommands c;
  c.demos = app.add_subcommand(
      "demos", "safety demonstrations for fine-tuning: export, generate with a teacher, validate");
  c.demos->require_subcommand(1);

  c.exporter = c.demos->add_subcommand(
      "export",
      "write safety demonstrations (requests with reference safe answers) as OpenAI chat JSONL, "
      "Alpaca JSON and ShareGPT, with mixing, a deterministic split and a leakage check");
  c.exporter->add_option("RUNFILE", o.run_file,
                         "a run file whose suites have reference answers (e.g. medsafetybench "
                         "with split = \"train\", or table with reference_column)");
  c.exporter->add_option("--suite", o.suites,
                         "export this suite of RUNFILE (repeatable; default: every suite not "
                         "named by --mix)");
  c.exporter->add_option("--from-generated", o.generated,
                         "export the approved demonstrations of a `demos generate` folder "
                         "(repeatable)");
  c.exporter->add_option("--mix", o.mix,
                         "mix in a suite of RUNFILE at RATIO demonstrations per exported primary "
                         "demonstration, e.g. --mix benign=0.5 (repeatable)");
  c.exporter->add_option("--mix-file", o.mix_files,
                         "mix in a demonstration file (*.openai.jsonl, *.alpaca.json, "
                         "*.sharegpt.json) the same way: FILE=RATIO (repeatable)");
  c.exporter->add_flag("--skip-empty", o.skip_empty,
                       "leave out items whose reference answer is empty (counted) instead of "
                       "stopping at the first");
  add_output_flags(c.exporter, o);

  c.generate = c.demos->add_subcommand(
      "generate",
      "a teacher model of the run file answers the prompts without a reference answer; answers "
      "every chosen judge approves (rubric score 1, or a refusal) become demonstrations. "
      "Resumable: rerun the same command");
  c.generate->add_option("RUNFILE", o.run_file, "the run file with the teacher, suites and judges")
      ->required();
  c.generate->add_option("--teacher", o.teacher, "the model of the run file that answers")
      ->required();
  c.generate->add_option("-j,--judge", o.judges,
                         "a judge of the run file that must approve each answer (repeatable; "
                         "default: all of them)");
  c.generate->add_option("--suite", o.suites,
                         "answer this suite's prompts (repeatable; default: all)");
  add_output_flags(c.generate, o);
  c.generate->footer(std::string(kExportFooter) + "\n" + kGenerateFooter);

  c.validate = c.demos->add_subcommand(
      "validate", "check demonstration files strictly (errors name the line, entry and key)");
  c.validate->add_option("FILE", o.files, "the files (repeatable)")->required();
  c.validate->add_option("--format", o.format,
                         "openai, alpaca or sharegpt (default: from the name: *.openai.jsonl or "
                         "*.jsonl, *.alpaca.json, *.sharegpt.json)");
  c.validate->add_flag("--skip-empty", o.skip_empty, "entries with an empty answer are not errors");
  return c;
}

int demos_command(const DemosCommands& c, const DemosOptions& o, const CommonOptions& common) {
  if (c.exporter->parsed()) return export_command(o, common);
  if (c.generate->parsed()) return generate_command(o, common);
  if (c.validate->parsed()) return validate_command(o, common);
  return kUsage;
}

}  // namespace medsafe::cli
