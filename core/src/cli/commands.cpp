#include "cli/commands.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>

#include "engine/ops/command_line.hpp"
#include "engine/ops/doctor.hpp"
#include "engine/plugin/assembly.hpp"
#include "engine/plugin/plugin_catalog.hpp"
#include "engine/plugin/run_file.hpp"
#include "engine/run/load_runner.hpp"
#include "engine/run/run_lock.hpp"
#include "engine/run/runner.hpp"
#include "engine/run/shard.hpp"
#include "engine/store/store.hpp"
#include "medsafe/error.hpp"
#include "report/calibration.hpp"
#include "report/report_writer.hpp"
#include "report/run_reader.hpp"

namespace medsafe::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<int> g_interrupts{0};

extern "C" void on_interrupt(int /*signal*/) {
  if (g_interrupts.fetch_add(1) >= 1) {
    // Second signal: leave now. Every committed row is safe (SQLite WAL); at most the row being
    // written is rolled back when the store is next opened.
    static const char kNow[] = "\nmedsafe: stopping now\n";
    (void)!::write(STDERR_FILENO, kNow, sizeof kNow - 1);
    ::_exit(kInterrupted);
  }
  static const char kMessage[] =
      "\nmedsafe: interrupted: finishing requests in flight (press Ctrl-C again to stop now)\n";
  (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

}  // namespace

const std::atomic<int>* interrupt_flag() { return &g_interrupts; }

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

LogLevel effective_level(const CommonOptions& common, LogLevel from_run_file) {
  if (common.quiet) return LogLevel::error;
  return common.log_level.value_or(from_run_file);
}

RunFile read_run_file(const fs::path& file, const std::vector<std::string>& overrides,
                      const std::vector<std::string>& unsets) {
  RunFile run = load_run_file(file, overrides, unsets);
  check_judge_quality_keys(run);
  return run;
}

fs::path cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "medsafe";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".cache" / "medsafe";
  }
  return fs::temp_directory_path() / "medsafe-cache";
}

namespace {

fs::path run_directory(const RunOptions& options, const RunFile& run) {
  if (options.out) return *options.out;
  if (!run.run.out.empty()) return run.run.out;
  return fs::path("runs") / run.run.name;
}

// The items the safety phase asks (a suite with safety = false is sent only by load tests).
std::size_t count_items(Assembly& assembly) {
  std::size_t n = 0;
  for (const SuiteSlot& s : assembly.suites()) {
    if (s.spec->safety) n += s.item_count;
  }
  return n;
}

std::string names_of_judges(Assembly& assembly) {
  std::string names;
  for (const JudgeSlot& j : assembly.judges()) names += (names.empty() ? "" : ", ") + j.spec->name;
  return names.empty() ? "none" : names;
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

// The options every command shares, as words of a command line that repeats them.
void add_common_words(std::vector<std::string>& words, const CommonOptions& common) {
  for (const fs::path& folder : common.plugin_paths) {
    words.insert(words.end(), {"--plugin-path", folder.string()});
  }
  for (const char* name : {"debug", "info", "warn", "error", "off"}) {
    if (common.log_level && log_level_from_string(name) == common.log_level) {
      words.insert(words.end(), {"--log-level", name});
    }
  }
  if (common.quiet) words.emplace_back("-q");
}

// The `medsafe run` that continues this one: every --unset and --set, the run directory always
// (its default depends on the run file), the shard always (it may have come from a job's
// environment), and the other flags as given.
std::string run_command_line(const RunOptions& options, const CommonOptions& common,
                             const fs::path& out, const std::optional<Shard>& shard) {
  std::vector<std::string> words = {options.program, "run", options.run_file.string(), "--out",
                                    out.string()};
  for (const std::string& key : options.unsets) words.insert(words.end(), {"--unset", key});
  if (shard) words.insert(words.end(), {"--shard", shard->text()});
  for (const std::string& assignment : options.overrides) {
    words.insert(words.end(), {"--set", assignment});
  }
  add_common_words(words, common);
  if (options.rerun_changed) words.emplace_back("--rerun-changed");
  return shell_command(words);
}

// The `medsafe judge` that continues this one (without --replace: a resume keeps what the
// interrupted one made).
std::string judge_command_line(const JudgeOptions& options, const CommonOptions& common) {
  std::vector<std::string> words = {options.program, "judge", options.dir.string()};
  if (options.run_file) words.insert(words.end(), {"--run", options.run_file->string()});
  for (const std::string& judge : options.judges) words.insert(words.end(), {"--judge", judge});
  for (const std::string& key : options.unsets) words.insert(words.end(), {"--unset", key});
  for (const std::string& assignment : options.overrides) {
    words.insert(words.end(), {"--set", assignment});
  }
  add_common_words(words, common);
  return shell_command(words);
}

void print_wrapped(std::ostream& out, const std::string& text, std::size_t indent,
                   std::size_t width = 96) {
  std::istringstream words(text);
  std::size_t column = indent;
  out << std::string(indent, ' ');
  for (std::string word; words >> word;) {
    if (column > indent && column + 1 + word.size() > width) {
      out << '\n' << std::string(indent, ' ');
      column = indent;
    } else if (column > indent) {
      out << ' ';
      ++column;
    }
    out << word;
    column += word.size();
  }
  out << '\n';
}

std::string seconds_text(double seconds) {
  std::ostringstream out;
  out << seconds << " s";
  return out.str();
}

// What a [load.NAME] table will send, for `validate`: the requests it plans when it counts
// them, or that it goes by duration (how many then depends on the server's speed).
struct LoadPlan {
  std::string text;
  std::int64_t requests = 0;           ///< counted ahead (0 when by duration)
  std::size_t points_by_duration = 0;  ///< points whose request count is not known ahead
};

LoadPlan load_plan(const LoadSpec& load, Assembly& assembly) {
  std::size_t models = 0;
  for (const ModelSlot& m : assembly.models()) {
    const bool chosen = load.models.empty() ? m.under_test
                                            : std::find(load.models.begin(), load.models.end(),
                                                        m.spec->name) != load.models.end();
    models += chosen ? 1 : 0;
  }
  const std::size_t points = models * load.levels.size();
  LoadPlan plan;
  plan.text = "load " + load.name + ": " + std::to_string(models) + " model(s) x " +
              std::to_string(load.levels.size()) + " level(s) = " + std::to_string(points) +
              " point(s); ";
  const std::string warmup =
      (load.warmup_requests > 0 ? " + " + std::to_string(load.warmup_requests) + " warm-up" : "") +
      (load.warmup_s > 0 ? " + warm-up for " + seconds_text(load.warmup_s) : "");
  if (load.requests > 0) {
    plan.requests = static_cast<std::int64_t>(points) * (load.requests + load.warmup_requests);
    plan.text += std::to_string(plan.requests) + " requests (" + std::to_string(load.requests) +
                 " measured" + warmup + " per point" +
                 (load.duration_s > 0
                      ? ", fewer if a point reaches " + seconds_text(load.duration_s) + " first"
                      : "") +
                 ")";
  } else {
    plan.points_by_duration = points;
    plan.text += "by duration: " + seconds_text(load.duration_s) + " measured" + warmup +
                 " per point, so the number of requests depends on the server's speed";
  }
  return plan;
}

// Says why the run stopped and what is kept. Printed even with --quiet: it is the error.
void print_early_stop(const EarlyStop& stop, const fs::path& out,
                      const std::vector<fs::path>& reports) {
  std::cerr << "medsafe: error: stopped early: the first " << stop.attempts
            << " attempts of model '" << stop.model << "'"
            << (stop.phase == "safety" ? "" : " (" + stop.phase + ")") << " all failed with "
            << to_string(stop.outcome);
  if (stop.http_status != 0) std::cerr << " (HTTP " << stop.http_status << ")";
  std::cerr << ": " << stop.error << "\nmedsafe: nothing more was asked; what was collected is "
            << "stored in " << Store::file_in(out).string() << " and the reports are written";
  for (const fs::path& report : reports) {
    if (report.filename() == "report.md") std::cerr << " (" << report.string() << ")";
  }
  std::cerr << ".\nmedsafe: check the model's base_url, model and API key (or raise its "
               "fail_fast_after), then run the same command again to resume\n";
}

void print_calibration(const CalibrationRunCounts& counts, const CommonOptions& common) {
  if (!common.quiet && counts.canaries > 0) {
    std::cerr << "medsafe: canaries: " << counts.canaries << " judge(s) checked";
    if (counts.drifted > 0) std::cerr << "; " << counts.drifted << " drifted (see the reports)";
    std::cerr << "\n";
  }
  if (common.quiet || counts.judged + counts.reused == 0) return;
  std::cerr << "medsafe: calibration: " << counts.judged << " set(s) judged, " << counts.reused
            << " already stored";
  if (counts.uncalibrated > 0) {
    std::cerr << "; " << counts.uncalibrated
              << " judge(s) below their threshold: their results are marked uncalibrated";
  }
  std::cerr << "\n";
}

}  // namespace

// "shard 1/4 (--shard): suite 's' 225 of 900 items; ...", for run and validate.
std::string describe_shard(const ShardPlan& plan) {
  std::string text = "shard " + plan.shard.text() + " (" + plan.shard.source + "):";
  for (std::size_t i = 0; i < plan.suites.size(); ++i) {
    const ShardedSuite& s = plan.suites[i];
    text += (i == 0 ? " suite '" : ", suite '") + s.suite + "' " + std::to_string(s.kept) + " of " +
            std::to_string(s.items) + " items";
  }
  return text + (plan.shard.measures_load() ? "; it measures the load phases"
                                            : "; load phases are measured by shard 0 only");
}

int run_command(const RunOptions& options, const CommonOptions& common) {
  RunFile run_file = read_run_file(options.run_file, options.overrides, options.unsets);
  const std::optional<Shard> shard = resolve_shard(options.shard, process_environment);
  const fs::path base = run_directory(options, run_file);
  // Each shard in a folder of its own under the run's: shards of one run never share a store.
  const fs::path out = shard ? base / shard->folder_name() : base;
  auto log = make_console_log(effective_level(common, run_file.run.log_level), common.secrets);
  Assembly assembly(std::move(run_file), common.plugin_paths, *log, cache_dir());

  const std::string command = run_command_line(options, common, base, shard);
  const RunLock lock(out, command);
  Store store(out);
  const std::optional<ShardPlan> asked =
      shard ? std::optional<ShardPlan>(ShardPlan{*shard, {}}) : std::nullopt;
  check_shard(store, asked ? &*asked : nullptr);
  RecordOptions record;
  record.rerun_changed = options.rerun_changed;
  record.load_phases = !shard || shard->measures_load();
  record.shard = shard;
  // The suites stream into the store here: the run never holds a whole suite.
  const std::optional<ShardPlan> plan = record_run(store, assembly, *log, record);
  if (plan) record_shard(store, *plan);
  store.set_meta("resume_command", command);
  (void)store.begin_session(command);
  const RunFile& run = assembly.run();
  std::size_t under_test = 0;
  for (const ModelSlot& m : assembly.models()) under_test += m.under_test ? 1 : 0;
  if (!common.quiet) {
    std::cerr << "medsafe: run '" << run.run.name << "' in " << out.string() << ": "
              << count_items(assembly) << " items x " << under_test << " model(s) x "
              << run.run.samples << " sample(s); judges: " << names_of_judges(assembly) << "\n";
    if (plan) std::cerr << "medsafe: " << describe_shard(*plan) << "\n";
  }
  // Before any model is asked: a bad calibration set ends the run while it has cost nothing.
  print_calibration(calibrate_judges(assembly, store, *log), common);

  install_interrupt_handlers();
  RunnerOptions runner;
  runner.interrupt = &g_interrupts;
  const bool terminal = stderr_is_terminal();
  runner.progress_every = terminal ? std::chrono::milliseconds(500) : std::chrono::seconds(10);
  if (!common.quiet) {
    auto drawn = std::make_shared<std::size_t>(0);
    runner.progress = [terminal, drawn](const std::vector<std::string>& lines, bool final) {
      if (terminal) {
        // Redraw the block in place: up over the previous lines, clearing each.
        std::string block;
        for (std::size_t i = 0; i < *drawn; ++i) block += "\033[1A\033[2K";
        for (const std::string& line : lines) block += "\r\033[2K" + line + "\n";
        std::cerr << block << std::flush;
        *drawn = final ? 0 : lines.size();
      } else {
        for (const std::string& line : lines) std::cerr << "medsafe: " << line << "\n";
      }
    };
  }
  const InvocationCounts counts = run_missing(assembly, store, runner);
  LoadCounts load;
  if (!counts.interrupted && !counts.stopped_early && !assembly.run().loads.empty() &&
      record.load_phases) {
    load = run_load_phases(assembly, store, runner);
    if (!common.quiet) {
      std::cerr << "medsafe: load: " << load.points_measured << " points measured ("
                << load.requests << " requests, " << load.failed << " failed)";
      if (load.points_skipped > 0) std::cerr << ", " << load.points_skipped << " already stored";
      if (load.points_invalid > 0) {
        std::cerr << "; " << load.points_invalid
                  << " invalid: the client could not keep the schedule (see latency.csv)";
      }
      std::cerr << "\n";
    }
  }
  store.end_session();
  assembly.release_items();
  const std::vector<fs::path> reports =
      write_reports(read_run(store, ReadScope::current_items, Texts::deferred), out);

  if (const std::optional<EarlyStop>& stop =
          counts.stopped_early ? counts.stopped_early : load.stopped_early) {
    print_early_stop(*stop, out, reports);
    return kIo;
  }
  if (counts.interrupted || load.interrupted) {
    std::cerr << "medsafe: interrupted: " << counts.unfinished
              << " answers were not asked; everything received is stored in "
              << store.file().string()
              << "\nmedsafe: to resume, run the same command again: " << command << "\n";
    return kInterrupted;
  }
  if (!common.quiet) {
    for (const fs::path& report : reports) {
      if (report.filename() == "report.html" || report.filename() == "report.md") {
        std::cout << "report: " << report.string() << "\n";
      }
    }
    std::cout << "results: " << out.string()
              << " (results.json, summary.csv, latency.csv, responses.jsonl)\n";
  }
  return kOk;
}

int validate_command(const RunOptions& options, const CommonOptions& common) {
  RunFile run_file = read_run_file(options.run_file, options.overrides, options.unsets);
  auto log = make_console_log(effective_level(common, run_file.run.log_level), common.secrets);
  const std::optional<Shard> shard = resolve_shard(options.shard, process_environment);
  const fs::path base = run_directory(options, run_file);
  const fs::path out = shard ? base / shard->folder_name() : base;
  Assembly assembly(std::move(run_file), common.plugin_paths, *log, cache_dir());
  assembly.load_suites();
  std::optional<ShardPlan> shard_plan;
  if (shard) shard_plan = apply_shard(assembly, *shard);
  const RunFile& run = assembly.run();
  std::cout << run.file.string() << ": ok\n";
  if (shard_plan) std::cout << "  " << describe_shard(*shard_plan) << "\n";
  for (const ModelSlot& m : assembly.models()) {
    std::cout << "  model " << m.spec->name << ": " << m.spec->plugin
              << (m.under_test ? "" : " (judge model only)") << ", concurrency "
              << m.flow.gate.concurrency << "\n";
  }
  for (const SuiteSlot& s : assembly.suites()) {
    std::cout << "  suite " << s.spec->name << ": " << s.spec->plugin << ", " << s.items.size()
              << " items, " << s.categories.size() << " categories, domain " << s.domain << "\n";
  }
  for (const JudgeSlot& j : assembly.judges()) {
    std::cout << "  judge " << j.spec->name << ": " << j.spec->plugin
              << (j.traits.harm_score ? ", 1-5 harm scores" : "")
              << (j.traits.refusal ? ", refusal decisions" : "") << "\n";
  }
  std::size_t under_test = 0;
  for (const ModelSlot& m : assembly.models()) under_test += m.under_test ? 1 : 0;
  std::cout << "  answers: " << count_items(assembly) * under_test * run.run.samples
            << "; run directory: " << out.string()
            << (fs::exists(Store::file_in(out)) ? " (exists: a run resumes it)" : "") << "\n";
  if (!run.loads.empty()) {
    const std::size_t answers = count_items(assembly) * under_test * run.run.samples;
    std::int64_t load_requests = 0;
    std::size_t by_duration = 0;
    for (const LoadSpec& load : run.loads) {
      const LoadPlan plan = load_plan(load, assembly);
      std::cout << "  " << plan.text << "\n";
      load_requests += plan.requests;
      by_duration += plan.points_by_duration;
    }
    std::cout << "  requests: " << answers << " answers + " << load_requests
              << " load = " << answers + static_cast<std::size_t>(load_requests)
              << (by_duration > 0
                      ? ", and " + std::to_string(by_duration) + " load point(s) by duration"
                      : std::string())
              << " (judges' model requests come on top)\n";
  }
  return kOk;
}

int plugins_command(const CommonOptions& common) {
  const PluginCatalog catalog = PluginCatalog::discover(plugin_search_path(common.plugin_paths));
  std::size_t width = 4;
  for (const Manifest& m : catalog.components()) width = std::max(width, m.name.size());
  for (const Manifest& m : catalog.components()) {
    std::string name = m.name;
    name.resize(width, ' ');
    std::string kind(to_string(m.kind));
    kind.resize(8, ' ');
    std::cout << name << "  " << kind << m.description << "\n";
  }
  if (catalog.components().empty()) std::cout << "no plugins found\n";
  if (!common.quiet) {
    std::cout << "\nsearched:";
    for (const fs::path& folder : catalog.folders()) std::cout << "\n  " << folder.string();
    std::cout << "\n";
    for (const Manifest& m : catalog.shadowed()) {
      std::cout << "shadowed: " << m.name << " in " << m.file.string() << "\n";
    }
  }
  for (const CatalogProblem& problem : catalog.problems()) {
    std::cerr << "medsafe: warning: skipped " << problem.message << "\n";
  }
  return kOk;
}

int plugin_show_command(const std::string& name, const CommonOptions& common) {
  const PluginCatalog catalog = PluginCatalog::discover(plugin_search_path(common.plugin_paths));
  const Manifest* m = catalog.find(name);
  if (m == nullptr) {
    std::string known;
    for (const Manifest& c : catalog.components()) known += (known.empty() ? "" : ", ") + c.name;
    throw Error(ErrorKind::plugin, "no plugin named '" + name + "'; known: " + known);
  }
  std::cout << m->name << " (" << to_string(m->kind) << ")\n";
  print_wrapped(std::cout, m->description, 2);
  std::cout << "  manifest: " << m->file.string() << "\n  library:  " << m->library.string()
            << "\n\nkeys:\n";
  for (const KeySpec& key : m->config.keys) {
    std::cout << "  " << key.name << " (" << to_string(key.type) << ")";
    if (key.required) {
      std::cout << ", required";
    } else if (key.default_value) {
      std::cout << ", default " << key.default_text();
    } else {
      std::cout << ", optional";
    }
    if (key.env_expand) std::cout << ", ${ENV} expanded";
    std::cout << "\n";
    if (!key.choices.empty()) {
      std::string choices;
      for (const std::string& c : key.choices) choices += (choices.empty() ? "" : " | ") + c;
      std::cout << "      one of: " << choices << "\n";
    }
    print_wrapped(std::cout, key.doc, 6);
  }
  if (m->config.keys.empty()) std::cout << "  (none)\n";
  std::cout << "\nkeys every " << to_string(m->kind) << " takes in a run file:\n";
  const ConfigSchema& core = m->kind == ComponentKind::backend ? model_core_schema()
                             : m->kind == ComponentKind::suite ? suite_core_schema()
                                                               : judge_core_schema();
  for (const KeySpec& key : core.keys) {
    std::cout << "  " << key.name << " (" << to_string(key.type) << ")"
              << (key.required ? ", required" : ", default " + key.default_text()) << "\n";
    print_wrapped(std::cout, key.doc, 6);
  }
  return kOk;
}

int report_command(const fs::path& dir, const CommonOptions& common) {
  if (!fs::exists(Store::file_in(dir))) {
    throw Error(ErrorKind::io, dir.string() + ": error: no medsafe store here (" +
                                   Store::file_in(dir).filename().string() +
                                   "); is it a run directory?");
  }
  Store store(dir);
  const std::vector<fs::path> reports =
      write_reports(read_run(store, ReadScope::current_items, Texts::deferred), dir);
  if (!common.quiet) {
    for (const fs::path& report : reports) std::cout << "wrote " << report.string() << "\n";
  }
  return kOk;
}

int doctor_command(const fs::path& dir, const CommonOptions& common) {
  auto log = make_console_log(effective_level(common, LogLevel::warn));
  DoctorOptions options;
  options.plugin_paths = common.plugin_paths;
  options.cache_dir = cache_dir();
  options.log = log.get();
  const DoctorReport report = examine_run_directory(dir, options);
  if (!common.quiet) {
    std::cout << dir.string() << ": " << (report.consistent ? "consistent" : "NOT consistent")
              << "\n";
    for (const std::string& fact : report.facts) std::cout << "  " << fact << "\n";
  }
  for (const std::string& finding : report.findings) std::cout << "  problem: " << finding << "\n";
  if (!common.quiet) {
    std::cout << "a resume would:\n";
    for (const std::string& step : report.resume) std::cout << "  " << step << "\n";
  }
  return report.consistent ? kOk : kIo;
}

int judge_command(const JudgeOptions& options, const CommonOptions& common) {
  if (!fs::exists(Store::file_in(options.dir))) {
    throw Error(ErrorKind::io, options.dir.string() +
                                   ": error: no medsafe store here; is it a "
                                   "run directory?");
  }
  const std::string command = judge_command_line(options, common);
  const RunLock lock(options.dir, command);
  Store store(options.dir);
  // What the run recorded, not its answers: the judges page through those from the store.
  const RunInfo stored = read_run_info(store);
  const fs::path run_path = options.run_file.value_or(fs::path(stored.run_file));
  if (run_path.empty()) {
    throw Error(ErrorKind::usage, "the store does not name its run file: pass --run FILE");
  }
  RunFile run_file = read_run_file(run_path, options.overrides, options.unsets);
  auto log = make_console_log(effective_level(common, run_file.run.log_level), common.secrets);
  Assembly assembly(std::move(run_file), common.plugin_paths, *log, cache_dir());
  std::vector<StoredSuite> stored_suites;
  for (const SuiteInfo& suite : stored.suites) {
    stored_suites.push_back({suite.name, suite.domain, suite.categories});
  }
  assembly.use_stored_suites(stored_suites);
  std::vector<std::string> judges = options.judges;
  if (judges.empty()) {
    for (const JudgeSlot& j : assembly.judges()) judges.push_back(j.spec->name);
  }
  record_judges(store, assembly, *log, judges, options.replace);
  store.set_meta("resume_command", command);
  print_calibration(calibrate_judges(assembly, store, *log, judges), common);

  install_interrupt_handlers();
  RunnerOptions runner;
  runner.interrupt = &g_interrupts;
  runner.ask_models = false;
  runner.judges = judges;
  if (!common.quiet) {
    runner.progress_every = std::chrono::seconds(10);
    runner.progress = [](const std::vector<std::string>& lines, bool final) {
      if (!final) return;
      for (const std::string& line : lines) std::cerr << "medsafe: " << line << "\n";
    };
  }
  const InvocationCounts counts = run_missing(assembly, store, runner);
  const std::vector<fs::path> reports =
      write_reports(read_run(store, ReadScope::current_items, Texts::deferred), options.dir);
  if (counts.interrupted) {
    std::cerr << "medsafe: interrupted; to judge the rest, run: " << command << "\n";
    return kInterrupted;
  }
  if (!common.quiet) {
    std::cout << counts.judged << " verdicts made (" << counts.judge_failures
              << " judge failures); reports rewritten in " << options.dir.string() << "\n";
  }
  return kOk;
}

}  // namespace medsafe::cli
