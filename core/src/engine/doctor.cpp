#include "engine/doctor.hpp"

#include <map>
#include <set>
#include <tuple>

#include "engine/store.hpp"
#include "medsafe/error.hpp"

namespace medsafe {
namespace {

std::string plural(std::int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

DoctorReport examine_run_directory(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(Store::file_in(dir))) {
    throw Error(ErrorKind::io, dir.string() +
                                   ": error: no medsafe store here (medsafe.db); is it "
                                   "a run directory?");
  }
  DoctorReport report;
  Store store(dir);
  const std::string integrity = store.integrity_check();
  if (integrity != "ok") {
    report.consistent = false;
    report.findings.push_back("SQLite integrity check: " + integrity);
    return report;  // nothing below can be trusted
  }
  report.facts.push_back("SQLite integrity check: ok");
  const RunData data = store.read_all();

  std::set<std::pair<std::string, std::string>> items;
  std::map<std::string, std::int64_t> items_per_suite;
  for (const ItemRow& item : data.items) {
    items.emplace(item.suite, item.item_id);
    ++items_per_suite[item.suite];
  }
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
    ++safety_per_model_suite[{r.model, r.suite}];
    if (r.outcome == Outcome::ok) {
      ok_answers.emplace(r.model, r.suite, r.item_id, r.sample);
    } else {
      ++failed_safety;
    }
  }
  std::map<std::string, std::int64_t> verdicts_per_judge;
  std::map<std::string, std::int64_t> judge_errors;
  for (const VerdictRow& v : data.verdicts) {
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
