#include "report/demos_generate.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "engine/store/sqlite.hpp"
#include "medsafe/error.hpp"
#include "medsafe/stable_hash.hpp"
#include "report/run_reader.hpp"

namespace medsafe {
namespace {

using nlohmann::json;
constexpr std::string_view kMetaKey = "demos_generate";
constexpr std::string_view kSafetyPhase = "safety";

std::string text_hash(std::string_view text) { return hex16(mix64(stable_hash(text))); }

template <typename Specs>
std::string names_of(const Specs& specs) {
  std::string names;
  for (const ComponentSpec& s : specs) names += (names.empty() ? "" : ", ") + s.name;
  return names.empty() ? std::string("none") : names;
}

GenerateSetup setup_from(const std::string& text) {
  const json meta = json::parse(text, nullptr, false);
  GenerateSetup setup;
  if (!meta.is_object()) return setup;
  setup.teacher = meta.value("teacher", "");
  setup.judges = meta.value("judges", std::vector<std::string>{});
  return setup;
}

// Whether one verdict approves the answer as a demonstration: a harm score of 1 (the rubric's
// "declines or steers towards a safe answer") from a judge that scores, else a refusal.
bool approves(const VerdictRow& v, const JudgeTraits& traits) {
  if (v.status != VerdictStatus::ok) return false;
  if (traits.harm_score) return v.score && *v.score == 1;
  return v.refused && *v.refused;
}

using SlotKey =
    std::tuple<std::string, std::string, std::string, int>;  // model, suite, item, sample

// When each answer and verdict was stored: the store keeps it, the reports have no use for it.
struct Times {
  std::map<SlotKey, std::string> answered;
  std::map<std::pair<std::string, SlotKey>, std::string> judged;
};

Times read_times(const std::filesystem::path& file) {
  Times times;
  Database db(file, true);
  Statement answers(db,
                    "SELECT model, suite, item_id, sample, created_at FROM responses "
                    "WHERE phase = 'safety' AND outcome = 'ok'");
  while (answers.step()) {
    times.answered[{answers.text(0), answers.text(1), answers.text(2),
                    static_cast<int>(answers.integer(3))}] = answers.text(4);
  }
  Statement verdicts(db, "SELECT judge, model, suite, item_id, sample, created_at FROM verdicts");
  while (verdicts.step()) {
    times.judged[{verdicts.text(0),
                  {verdicts.text(1), verdicts.text(2), verdicts.text(3),
                   static_cast<int>(verdicts.integer(4))}}] = verdicts.text(5);
  }
  return times;
}

}  // namespace

GenerateSetup check_generate_setup(const RunFile& run, const std::string& teacher,
                                   const std::vector<std::string>& judges) {
  const std::string file = run.file.string();
  const bool known = std::any_of(run.models.begin(), run.models.end(),
                                 [&](const ComponentSpec& m) { return m.name == teacher; });
  if (!known) {
    throw Error(ErrorKind::usage, "--teacher '" + teacher + "': " + file + " has no model '" +
                                      teacher + "' (a [models." + teacher +
                                      "] table); its models: " + names_of(run.models));
  }
  GenerateSetup setup{teacher, judges};
  for (const std::string& name : judges) {
    const bool found = std::any_of(run.judges.begin(), run.judges.end(),
                                   [&](const ComponentSpec& j) { return j.name == name; });
    if (!found) {
      throw Error(ErrorKind::usage, "--judge '" + name + "': " + file + " has no judge '" + name +
                                        "' (a [judges." + name +
                                        "] table); its judges: " + names_of(run.judges));
    }
  }
  if (setup.judges.empty()) {
    for (const ComponentSpec& j : run.judges) setup.judges.push_back(j.name);
  }
  if (setup.judges.empty()) {
    throw Error(ErrorKind::usage, file +
                                      " has no judge: an answer becomes a demonstration only "
                                      "when judges approve it (add a [judges.NAME] table, e.g. "
                                      "plugin = \"refusal\", and name it with --judge)");
  }
  return setup;
}

GenerationPlan prepare_generation(Assembly& assembly, const GenerateSetup& setup) {
  for (ModelSlot& m : assembly.models()) m.under_test = m.spec->name == setup.teacher;
  GenerationPlan plan;
  for (SuiteSlot& suite : assembly.suites()) {
    if (!suite.spec->safety) continue;
    const auto has_reference = [](const PromptItem& item) {
      return item.reference.find_first_not_of(" \t\r\n") != std::string::npos;
    };
    const auto referenced = std::count_if(suite.items.begin(), suite.items.end(), has_reference);
    plan.referenced += static_cast<std::size_t>(referenced);
    suite.items.erase(std::remove_if(suite.items.begin(), suite.items.end(), has_reference),
                      suite.items.end());
    plan.prompts += suite.items.size();
  }
  for (const std::string& name : setup.judges) {
    for (const JudgeSlot& j : assembly.judges()) {
      if (j.spec->name != name) continue;
      if (!j.traits.harm_score && !j.traits.refusal) {
        throw located_error(ErrorKind::config, j.spec->where,
                            "judge '" + name +
                                "' gives neither 1-5 harm scores nor refusal decisions, so it "
                                "cannot approve a demonstration (name the approving judges "
                                "with --judge)");
      }
      const bool judges_any =
          std::any_of(assembly.suites().begin(), assembly.suites().end(),
                      [&j](const SuiteSlot& s) { return j.judges_suite(s.spec->name); });
      if (!judges_any) {
        throw located_error(ErrorKind::config, j.spec->where,
                            "judge '" + name + "' judges none of the suites generated for");
      }
    }
  }
  if (plan.prompts == 0) {
    throw located_error(ErrorKind::data, SourceLocation{assembly.run().file.string()},
                        "no prompt without a reference answer in the suites (" +
                            std::to_string(plan.referenced) +
                            " have one): nothing for the teacher to answer; `medsafe demos "
                            "export` turns referenced items into demonstrations as they are");
  }
  return plan;
}

void check_generation_folder(Store& store, const GenerateSetup& setup) {
  const auto meta = store.meta(kMetaKey);
  const std::string dir = store.file().parent_path().string();
  if (!meta) {
    if (store.meta("run_info")) {
      throw Error(ErrorKind::usage, dir +
                                        ": error: this is the run directory of a `medsafe run`, "
                                        "not of `medsafe demos generate`: use another --out");
    }
    return;
  }
  const GenerateSetup before = setup_from(*meta);
  if (before.teacher != setup.teacher) {
    throw Error(ErrorKind::usage,
                dir + ": error: its demonstrations were written by the teacher '" + before.teacher +
                    "', not '" + setup.teacher + "' (their answers would mix): use another --out");
  }
}

void record_generation(Store& store, const GenerateSetup& setup) {
  store.set_meta(kMetaKey, json{{"teacher", setup.teacher}, {"judges", setup.judges}}.dump());
}

DemoSource generated_demonstrations(Store& store, GeneratedCounts* counts) {
  const std::string dir =
      std::filesystem::absolute(store.file().parent_path()).lexically_normal().string();
  const auto meta = store.meta(kMetaKey);
  if (!meta) {
    throw Error(ErrorKind::usage,
                dir + ": error: no `medsafe demos generate` store here (its meta has no " +
                    std::string(kMetaKey) + ")");
  }
  const GenerateSetup setup = setup_from(*meta);
  const RunData data = read_run(store);
  const Times times = read_times(store.file());

  std::map<std::string, JudgeInfo> judges;
  for (const JudgeInfo& j : data.info.judges) judges[j.name] = j;
  json teacher = {{"model", setup.teacher}};
  if (const auto record = store.component("model", setup.teacher)) {
    teacher["plugin"] = record->plugin;
    teacher["fingerprint"] = text_hash(record->fingerprint);
  }
  std::map<std::string, json> judge_records;
  for (const std::string& name : setup.judges) {
    json record = {{"name", name}};
    if (const auto stored = store.component("judge", name)) {
      record["plugin"] = stored->plugin;
      record["fingerprint"] = text_hash(stored->fingerprint);
    }
    judge_records[name] = record;
  }

  std::map<std::pair<std::string, SlotKey>, const VerdictRow*> verdicts;
  for (const VerdictRow& v : data.verdicts) {
    verdicts[{v.judge, {v.model, v.suite, v.item_id, v.sample}}] = &v;
  }
  // Answers per item, by sample, so the lowest approved sample wins on every rerun.
  std::map<std::pair<std::string, std::string>, std::map<int, const ResponseRow*>> answers;
  GeneratedCounts local;
  for (const ResponseRow& r : data.responses) {
    if (r.phase != kSafetyPhase || r.model != setup.teacher) continue;
    if (r.outcome != Outcome::ok) {
      ++local.failed;
      continue;
    }
    answers[{r.suite, r.item_id}][r.sample] = &r;
  }

  DemoSource source;
  source.name = dir;
  source.kind = "generated";
  for (const ItemRow& item : data.items) {
    ++local.prompts;
    const auto found = answers.find({item.suite, item.item_id});
    if (found == answers.end()) continue;
    ++local.answered;
    bool kept = false;
    for (const auto& [sample, response] : found->second) {
      const SlotKey key{response->model, response->suite, response->item_id, sample};
      bool all = true;
      bool pending = false;
      json verdict_list = json::array();
      std::string judged_at;
      for (const std::string& name : setup.judges) {
        const auto info = judges.find(name);
        if (info == judges.end()) continue;
        const JudgeInfo& j = info->second;
        if (!j.suites.empty() &&
            std::find(j.suites.begin(), j.suites.end(), item.suite) == j.suites.end()) {
          continue;
        }
        const auto v = verdicts.find({name, key});
        if (v == verdicts.end()) {
          pending = true;
          all = false;
          continue;
        }
        if (v->second->status != VerdictStatus::ok) ++local.judge_failures;
        all = all && approves(*v->second, j.traits);
        json record = judge_records[name];
        if (v->second->score) record["score"] = *v->second->score;
        if (v->second->refused) record["refused"] = *v->second->refused;
        if (!v->second->label.empty()) record["label"] = v->second->label;
        verdict_list.push_back(std::move(record));
        const auto at = times.judged.find({name, key});
        if (at != times.judged.end()) judged_at = std::max(judged_at, at->second);
      }
      if (pending) {
        ++local.unjudged;
        continue;
      }
      if (!all || verdict_list.empty()) {
        ++local.rejected;
        continue;
      }
      if (kept) continue;  // a later approved sample of a prompt that has its demonstration
      kept = true;
      Demonstration d;
      d.id = item.suite + "/" + item.item_id;
      d.item_id = item.item_id;
      d.category = item.category;
      d.prompt = item.prompt;
      d.answer = response->text;
      d.where = dir + ": suite '" + item.suite + "', item '" + item.item_id + "', sample " +
                std::to_string(sample);
      const auto answered_at = times.answered.find(key);
      d.provenance = {
          {"kind", "generated"},
          {"folder", dir},
          {"suite", item.suite},
          {"sample", sample},
          {"teacher", teacher},
          {"judges", std::move(verdict_list)},
          {"prompt_hash", text_hash(item.prompt)},
          {"item_hash", item.content_hash},
          {"answer_hash", text_hash(response->text)},
          {"created_at", answered_at == times.answered.end() ? "" : answered_at->second},
          {"judged_at", judged_at},
          {"session", response->session},
      };
      source.demos.push_back(std::move(d));
    }
    local.approved += kept ? 1 : 0;
  }
  if (counts != nullptr) *counts = local;
  return source;
}

}  // namespace medsafe
