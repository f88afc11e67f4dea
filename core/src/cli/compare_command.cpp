// `medsafe compare RUN_DIR...`: side-by-side and paired comparison of runs (docs/compare.md).
#include <algorithm>
#include <iostream>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "engine/compare.hpp"
#include "engine/compare_report.hpp"
#include "engine/report_calibration.hpp"
#include "engine/report_io.hpp"
#include "engine/store.hpp"
#include "medsafe/error.hpp"

namespace medsafe::cli {
namespace {

namespace fs = std::filesystem;

RunData read_run(const fs::path& dir) {
  if (!fs::exists(Store::file_in(dir))) {
    throw Error(ErrorKind::io, dir.string() + ": error: no medsafe store here (" +
                                   Store::file_in(dir).filename().string() +
                                   "); is it a run directory?");
  }
  Store store(dir);
  return store.read_all();
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

// A gate on figures from a judge that failed its calibration would pass or fail on the judge's
// errors: refused unless asked for.
void check_calibrated(const std::vector<CompareInput>& inputs) {
  std::string problems;
  for (const CompareInput& input : inputs) {
    for (const std::string& line : uncalibrated_lines(input.data)) {
      problems += "\n  " + input.label + ": " + line;
    }
  }
  if (problems.empty()) return;
  throw Error(ErrorKind::usage,
              "--fail-if-worse: a compared run's judge is uncalibrated, so its verdicts cannot "
              "decide the gate:" +
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
  for (const fs::path& dir : options.runs) inputs.push_back({dir.string(), read_run(dir)});
  CompareSettings settings;
  settings.seed = options.seed;
  settings.alpha = options.alpha;
  if (options.fail_if_worse && !options.allow_uncalibrated) check_calibrated(inputs);
  const Comparison comparison = compare_runs(inputs, settings);
  if (options.fail_if_worse) check_gate(comparison, gate);

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
