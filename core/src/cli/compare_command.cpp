// `medsafe compare RUN_DIR...`: side-by-side and paired comparison of runs (docs/compare.md).
#include <algorithm>
#include <cstddef>
#include <iostream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "engine/store/store.hpp"
#include "medsafe/error.hpp"
#include "report/compare.hpp"
#include "report/compare_report.hpp"
#include "report/report_calibration.hpp"
#include "report/report_io.hpp"
#include "report/run_reader.hpp"

namespace medsafe::cli {
namespace {

namespace fs = std::filesystem;

// A run's stored data and the judges its store records (with their configuration as written).
struct StoredRun {
  RunData data;
  std::vector<ComponentRecord> judges;
};

StoredRun read_run(const fs::path& dir) {
  if (!fs::exists(Store::file_in(dir))) {
    throw Error(ErrorKind::io, dir.string() + ": error: no medsafe store here (" +
                                   Store::file_in(dir).filename().string() +
                                   "); is it a run directory?");
  }
  Store store(dir);
  StoredRun run{read_run(store), {}};
  for (ComponentRecord& c : store.components()) {
    if (c.kind == "judge") run.judges.push_back(std::move(c));
  }
  return run;
}

// "1, 4" → {"1", "4"}; "any" → {} (every row).
std::vector<std::string> gate_of(const std::string& text) {
  if (text == "any" || text.empty()) return {};
  std::vector<std::string> ids;
  std::istringstream in(text);
  for (std::string id; std::getline(in, id, ',');) {
    id.erase(0, id.find_first_not_of(" \t"));
    id.erase(id.find_last_not_of(" \t") + 1);
    if (!id.empty()) ids.push_back(id);
  }
  if (ids.empty()) {
    throw Error(ErrorKind::usage, "--fail-if-worse: no principle in '" + text + "'");
  }
  return ids;
}

// A gate naming a principle no paired row has would never fire: a typo must not pass CI.
void check_gate(const Comparison& comparison, const std::vector<std::string>& gate) {
  if (comparison.paired.empty()) {
    throw Error(ErrorKind::data,
                "--fail-if-worse: the runs have no model and items in common, so nothing can be "
                "tested (see the notes of the comparison)");
  }
  std::set<std::string> known;
  for (const PairedComparison& p : comparison.paired) {
    for (const PairedRow& row : p.rows) known.insert(row.category);
    if (!p.over_refusal.empty()) known.insert(std::string(kOverRefusalGate));
  }
  for (const std::string& id : gate) {
    if (known.contains(id)) continue;
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    throw Error(ErrorKind::usage,
                "--fail-if-worse: no principle '" + id + "' in the compared runs; known: " + list);
  }
}

// Adds `name` to `judges` unless it is there already.
void add_judge(std::vector<std::string>& judges, const std::string& name) {
  if (std::find(judges.begin(), judges.end(), name) == judges.end()) judges.push_back(name);
}

// Every string of `node` (part of a judge's configuration as JSON) that names one of `judges`.
void named_judges(const nlohmann::json& node, const std::set<std::string>& judges,
                  std::vector<std::string>& out) {
  if (node.is_string()) {
    const std::string& text = node.get_ref<const std::string&>();
    if (judges.contains(text)) add_judge(out, text);
  } else if (node.is_object() || node.is_array()) {
    for (const nlohmann::json& child : node) named_judges(child, judges, out);
  }
}

// The judges whose verdicts feed the gated figures of one run: the primary judge for harm rows,
// the judge of refusal decisions for over-refusal rows, and every judge that any of them names
// in its configuration (a cascade's `first` and `then`, a jury's `judges`), transitively.
std::vector<std::string> gate_judges(const RunInfo& info,
                                     const std::vector<ComponentRecord>& stored, bool harm,
                                     bool over_refusal) {
  std::vector<std::string> feeding;
  if (harm && !info.primary_judge.empty()) add_judge(feeding, info.primary_judge);
  if (over_refusal) {
    switch (refusal_source_of(info)) {
      case RefusalSource::refusal_judge:
        add_judge(feeding, info.refusal_judge);
        break;
      case RefusalSource::primary_score:
        add_judge(feeding, info.primary_judge);
        break;
      case RefusalSource::none:
        break;
    }
  }
  std::set<std::string> names;
  for (const JudgeInfo& j : info.judges) names.insert(j.name);
  // `feeding` grows as it is read; each judge is in it once, so this ends.
  for (std::size_t i = 0; i < feeding.size(); ++i) {
    for (const ComponentRecord& c : stored) {
      if (c.name != feeding[i]) continue;
      nlohmann::json config = nlohmann::json::parse(c.fingerprint, nullptr, false);
      if (!config.is_object()) continue;
      // The plugin's name is no reference (a judge named "refusal" of plugin "refusal").
      config.erase("plugin");
      named_judges(config, names, feeding);
    }
  }
  return feeding;
}

// A gate on figures from a judge that failed its calibration, or whose canaries drifted, would
// pass or fail on the judge's errors: refused unless asked for. Only the judges whose verdicts
// feed a gated row count (a judge nothing gated reads cannot move the decision).
void check_trusted(const std::vector<CompareInput>& inputs,
                   const std::vector<std::vector<ComponentRecord>>& stored_judges,
                   const Comparison& comparison, const std::vector<std::string>& gate) {
  const auto gated = [&gate](std::string_view id) {
    return gate.empty() || std::find(gate.begin(), gate.end(), id) != gate.end();
  };
  std::vector<bool> harm(inputs.size(), false);
  std::vector<bool> over_refusal(inputs.size(), false);
  for (const PairedComparison& p : comparison.paired) {
    const bool rows = std::any_of(p.rows.begin(), p.rows.end(),
                                  [&gated](const PairedRow& r) { return gated(r.category); });
    const bool benign = !p.over_refusal.empty() && gated(kOverRefusalGate);
    for (const std::size_t i : {p.baseline, p.run}) {
      harm[i] = harm[i] || rows;
      over_refusal[i] = over_refusal[i] || benign;
    }
  }
  std::string problems;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<std::string> judges =
        gate_judges(inputs[i].data.info, stored_judges[i], harm[i], over_refusal[i]);
    for (const std::string& line : untrusted_judge_lines(inputs[i].data, judges)) {
      problems += "\n  " + inputs[i].label + ": " + line;
    }
  }
  if (problems.empty()) return;
  throw Error(ErrorKind::usage,
              "--fail-if-worse: a judge whose verdicts decide the gate is uncalibrated or "
              "drifted, so the gate cannot trust them:" +
                  problems + "\npass --allow-uncalibrated to decide anyway");
}

void report_worse(const Comparison& comparison, const std::vector<std::string>& gate) {
  for (const PairedComparison& p : comparison.paired) {
    for (const PairedRow& row : p.rows) {
      if (row.change != Change::worse) continue;
      if (!gate.empty() && std::find(gate.begin(), gate.end(), row.category) == gate.end())
        continue;
      std::cerr << "medsafe: compare: " << comparison.labels[p.run] << " ('" << p.model_b
                << "') is significantly worse than " << comparison.labels[p.baseline] << " ('"
                << p.model_a << "') on "
                << (row.overall ? "all principles" : "principle " + row.category) << " of suite "
                << row.suite << "\n";
    }
    const bool gated = gate.empty() || std::find(gate.begin(), gate.end(),
                                                 std::string(kOverRefusalGate)) != gate.end();
    for (const OverRefusalChangeRow& row : p.over_refusal) {
      if (!gated || row.change != Change::worse) continue;
      std::cerr << "medsafe: compare: " << comparison.labels[p.run] << " ('" << p.model_b
                << "') refuses significantly more benign prompts than "
                << comparison.labels[p.baseline] << " ('" << p.model_a << "') in suite "
                << row.suite << " (over-refusal)\n";
    }
  }
}

}  // namespace

int compare_command(const CompareOptions& options, const CommonOptions& common) {
  if (options.runs.size() < 2) throw Error(ErrorKind::usage, "compare needs at least two runs");
  if (!(options.alpha > 0.0 && options.alpha < 1.0)) {
    throw Error(ErrorKind::usage, "--alpha must be between 0 and 1 (exclusive)");
  }
  const std::vector<std::string> gate =
      options.fail_if_worse ? gate_of(*options.fail_if_worse) : std::vector<std::string>{};
  std::vector<CompareInput> inputs;
  std::vector<std::vector<ComponentRecord>> stored_judges;
  for (const fs::path& dir : options.runs) {
    StoredRun run = read_run(dir);
    inputs.push_back({dir.string(), std::move(run.data)});
    stored_judges.push_back(std::move(run.judges));
  }
  CompareSettings settings;
  settings.seed = options.seed;
  settings.alpha = options.alpha;
  const Comparison comparison = compare_runs(inputs, settings);
  if (options.fail_if_worse) check_gate(comparison, gate);
  if (options.fail_if_worse && !options.allow_uncalibrated) {
    check_trusted(inputs, stored_judges, comparison, gate);
  }

  const std::string markdown = compare_markdown(comparison);
  if (options.markdown) {
    write_file_atomically(*options.markdown, markdown);
  } else if (!common.quiet) {
    std::cout << markdown;
  }
  if (options.csv) write_file_atomically(*options.csv, compare_csv(comparison));
  if (options.html) write_file_atomically(*options.html, compare_html(comparison));

  if (options.fail_if_worse && any_worse(comparison, gate)) {
    report_worse(comparison, gate);
    return kCompareWorse;
  }
  return kOk;
}

}  // namespace medsafe::cli
