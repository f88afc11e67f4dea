#include "engine/ops/doctor.hpp"

#include <map>
#include <memory>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "engine/plugin/assembly.hpp"
#include "engine/plugin/run_file.hpp"
#include "engine/run/item_changes.hpp"
#include "engine/store/store.hpp"
#include "medsafe/error.hpp"
#include "report/run_reader.hpp"

namespace medsafe {
namespace {

std::string plural(std::int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The --set assignments ("run_overrides") or --unset keys ("run_unsets") the run applied.
std::vector<std::string> stored_list(Store& store, std::string_view key) {
  std::vector<std::string> overrides;
  const nlohmann::json j = nlohmann::json::parse(store.meta(key).value_or("[]"), nullptr, false);
  if (!j.is_array()) return overrides;
  for (const auto& o : j) {
    if (o.is_string()) overrides.push_back(o.get<std::string>());
  }
  return overrides;
}

std::string gone_finding(const std::string& suite, std::int64_t answers,
                         const std::vector<std::string>& ids) {
  return "suite '" + suite +
         "': " + plural(answers, "stored answer belongs", "stored answers belong") + " to " +
         plural(static_cast<std::int64_t>(ids.size()), "item", "items") +
         " no longer in the dataset (" + some_ids(ids) +
         "): kept in the store, left out of the reports";
}

// Compares each suite's dataset now, read as the run file the store recorded reads it, with the
// stored items. False when it could not (no run file stored, a plugin or a dataset missing).
bool check_datasets(Store& store, const RunData& data, const DoctorOptions& options,
                    DoctorReport& report) {
  const std::optional<std::string> text = store.meta("run_file_text");
  if (!text || data.info.run_file.empty()) {
    report.facts.push_back("datasets: not compared (the store records no run file)");
    return false;
  }
  std::unique_ptr<Log> silent;
  Log* log = options.log;
  if (log == nullptr) {
    silent = make_console_log(LogLevel::off);
    log = silent.get();
  }
  try {
    Assembly assembly(parse_run_file(data.info.run_file, *text, stored_list(store, "run_overrides"),
                                     stored_list(store, "run_unsets")),
                      options.plugin_paths, *log, options.cache_dir, Assembly::Parts::suites);
    assembly.load_suites();
    for (const SuiteSlot& suite : assembly.suites()) {
      const std::string& name = suite.spec->name;
      const ItemChanges c = compare_items(store, name, suite.items);
      if (!c.changed.empty()) {
        report.consistent = false;
        report.findings.push_back(
            "suite '" + name +
            "': " + plural(static_cast<std::int64_t>(c.changed.size()), "item", "items") +
            " changed in the dataset since their answers were stored (" + some_ids(c.changed) +
            "): their " + plural(c.changed_answers, "answer", "answers") + " and " +
            plural(c.changed_verdicts, "verdict", "verdicts") + " are for the old text");
        report.resume.push_back("refuse: suite '" + name + "' has changed items (with " +
                                "--rerun-changed: drop their answers and verdicts and ask them "
                                "again)");
      }
      if (!c.gone.empty()) {
        report.consistent = false;
        report.findings.push_back(gone_finding(name, c.gone_answers, c.gone));
      }
    }
    report.facts.push_back(
        "datasets: compared with the store (" +
        plural(static_cast<std::int64_t>(assembly.suites().size()), "suite", "suites") + ")");
    return true;
  } catch (const Error& e) {
    report.facts.push_back(std::string("datasets: not compared: ") + e.what());
    return false;
  }
}

}  // namespace

DoctorReport examine_run_directory(const std::filesystem::path& dir, const DoctorOptions& options) {
  if (!std::filesystem::exists(Store::file_in(dir))) {
    throw Error(ErrorKind::io, dir.string() +
                                   ": error: no medsafe store here (medsafe.db); is it "
                                   "a run directory?");
  }
  DoctorReport report;
  // Read-only: the docs promise that doctor changes nothing, not even by a checkpoint.
  Store store(dir, Store::Mode::read_only);
  const std::string integrity = store.integrity_check();
  if (integrity != "ok") {
    report.consistent = false;
    report.findings.push_back("SQLite integrity check: " + integrity);
    return report;  // nothing below can be trusted
  }
  report.facts.push_back("SQLite integrity check: ok");
  const RunData data = read_run(store, ReadScope::everything);

  std::set<std::pair<std::string, std::string>> items;
  std::set<std::pair<std::string, std::string>> retired;  // no longer in their suite
  std::map<std::pair<std::string, std::string>, const ItemRow*> item_rows;
  std::map<std::string, std::int64_t> items_per_suite;  // items still in their suite
  for (const ItemRow& item : data.items) {
    items.emplace(item.suite, item.item_id);
    item_rows.emplace(std::make_pair(item.suite, item.item_id), &item);
    if (item.in_suite) {
      ++items_per_suite[item.suite];
    } else {
      retired.emplace(item.suite, item.item_id);
    }
  }
  // Answers stored for another text than their item's: per suite, the item ids.
  std::map<std::string, std::set<std::string>> other_text;
  std::map<std::string, std::int64_t> outcomes;
  std::set<std::tuple<std::string, std::string, std::string, int>> ok_answers;
  std::map<std::pair<std::string, std::string>, std::int64_t> safety_per_model_suite;
  std::int64_t attempts = 0;
  std::int64_t failed_safety = 0;
  for (const ResponseRow& r : data.responses) {
    ++outcomes[std::string(to_string(r.outcome))];
    attempts += r.attempts;
    if (r.attempts < 1) {
      report.consistent = false;
      report.findings.push_back("response " + r.model + "/" + r.suite + "/" + r.item_id +
                                " records " + std::to_string(r.attempts) + " attempts");
    }
    if (items.count({r.suite, r.item_id}) == 0) {
      report.consistent = false;
      report.findings.push_back("response " + r.model + "/" + r.suite + "/" + r.item_id +
                                " answers an item the store does not hold");
    }
    if (r.phase != "safety") continue;
    const auto item = item_rows.find({r.suite, r.item_id});
    if (item != item_rows.end() && !r.item_hash.empty() && !item->second->content_hash.empty() &&
        r.item_hash != item->second->content_hash) {
      other_text[r.suite].insert(r.item_id);
    }
    if (retired.count({r.suite, r.item_id}) != 0) continue;  // counted by check_datasets
    ++safety_per_model_suite[{r.model, r.suite}];
    if (r.outcome == Outcome::ok) {
      ok_answers.emplace(r.model, r.suite, r.item_id, r.sample);
    } else {
      ++failed_safety;
    }
  }
  for (const auto& [suite, ids] : other_text) {
    report.consistent = false;
    report.findings.push_back(
        "suite '" + suite + "': answers to " +
        plural(static_cast<std::int64_t>(ids.size()), "item were", "items were") +
        " stored for another text than the item's (" +
        some_ids(std::vector<std::string>(ids.begin(), ids.end())) + ")");
  }
  if (!check_datasets(store, data, options, report)) {
    // The datasets could not be read: what the store itself knows of rows that left a suite.
    std::map<std::string, std::pair<std::set<std::string>, std::int64_t>> orphans;
    for (const ResponseRow& r : data.responses) {
      if (r.phase == "safety" && retired.count({r.suite, r.item_id}) != 0) {
        orphans[r.suite].first.insert(r.item_id);
        ++orphans[r.suite].second;
      }
    }
    for (const auto& [suite, found] : orphans) {
      report.consistent = false;
      report.findings.push_back(gone_finding(
          suite, found.second, std::vector<std::string>(found.first.begin(), found.first.end())));
    }
  }
  std::map<std::string, std::int64_t> verdicts_per_judge;
  std::map<std::string, std::int64_t> judge_errors;
  for (const VerdictRow& v : data.verdicts) {
    if (retired.count({v.suite, v.item_id}) != 0) continue;
    ++verdicts_per_judge[v.judge];
    if (v.status == VerdictStatus::error) ++judge_errors[v.judge];
    if (ok_answers.count({v.model, v.suite, v.item_id, v.sample}) == 0) {
      report.consistent = false;
      report.findings.push_back("verdict of '" + v.judge + "' on " + v.model + "/" + v.suite + "/" +
                                v.item_id + " has no successful answer to judge");
    }
  }

  report.facts.push_back(
      plural(static_cast<std::int64_t>(data.items.size()), "item", "items") + " in " +
      plural(static_cast<std::int64_t>(items_per_suite.size()), "suite", "suites"));
  std::string by_outcome;
  for (const auto& [outcome, n] : outcomes) {
    by_outcome += (by_outcome.empty() ? "" : ", ") + std::to_string(n) + " " + outcome;
  }
  report.facts.push_back(
      plural(static_cast<std::int64_t>(data.responses.size()), "response", "responses") +
      (by_outcome.empty() ? "" : " (" + by_outcome + ")") + ", " +
      plural(attempts, "attempt", "attempts") + " in all");
  for (const auto& [judge, n] : verdicts_per_judge) {
    report.facts.push_back("judge '" + judge + "': " + plural(n, "verdict", "verdicts"));
  }

  // What a resume would do, as far as the store can tell (the run file may since have changed).
  const int samples = std::max(1, data.info.samples);
  std::int64_t missing_answers = 0;
  for (const ModelInfo& model : data.info.models) {
    if (!model.under_test) continue;
    for (const auto& [suite, n] : items_per_suite) {
      const std::int64_t have = safety_per_model_suite[{model.name, suite}];
      missing_answers += std::max<std::int64_t>(0, n * samples - have);
    }
  }
  if (missing_answers > 0) {
    report.resume.push_back("ask " + plural(missing_answers, "answer", "answers") + " never asked");
  }
  if (failed_safety > 0) {
    report.resume.push_back("ask again " +
                            plural(failed_safety, "failed answer", "failed answers") +
                            " (unless [run] retry_failed = false)");
  }
  for (const JudgeInfo& judge : data.info.judges) {
    const std::int64_t have = verdicts_per_judge[judge.name] - judge_errors[judge.name];
    const auto missing = static_cast<std::int64_t>(ok_answers.size()) - have;
    if (missing > 0) {
      report.resume.push_back("judge '" + judge.name + "': make " +
                              plural(missing, "verdict", "verdicts") +
                              " (missing, or failed before)");
    }
  }
  for (const LoadPointRow& point : data.load_points) {
    if (point.status != "complete") {
      report.resume.push_back("measure load point " + point.phase + " again (it is " +
                              point.status + ")");
    }
  }
  if (report.resume.empty()) report.resume.push_back("nothing: the run is complete");
  return report;
}

}  // namespace medsafe
