#include "report/completeness.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "report/slot_index.hpp"

namespace medsafe {
namespace {

bool safety_phase(const std::string& phase) { return phase.empty() || phase == "safety"; }

bool judges(const JudgeInfo& judge, const std::string& suite) {
  return judge.suites.empty() ||
         std::find(judge.suites.begin(), judge.suites.end(), suite) != judge.suites.end();
}

}  // namespace

Completeness compute_completeness(const RunData& data) {
  Completeness c;
  // The safety-phase answers and the verdicts, found by slot (16 bytes a row: maps keyed by the
  // slots' names were the reports' peak at a million items).
  SlotIndex<ResponseRow> answers;
  for (const ResponseRow& r : data.responses) {
    if (safety_phase(r.phase)) answers.add(slot_hash({r.model, r.suite, r.item_id}, r.sample), &r);
  }
  answers.seal();
  SlotIndex<VerdictRow> verdicts;
  verdicts.reserve(data.verdicts.size());
  for (const VerdictRow& v : data.verdicts) {
    verdicts.add(slot_hash({v.judge, v.model, v.suite, v.item_id}, v.sample), &v);
  }
  verdicts.seal();
  std::set<std::int64_t> sessions;
  for (const ResponseRow& r : data.responses) sessions.insert(r.session);
  c.sessions = static_cast<std::int64_t>(sessions.size());
  // A merged store holds each shard's sessions: the run was resumed when one shard has several.
  std::map<std::int64_t, std::string> shard_of_session;
  for (const SessionInfo& s : data.info.sessions) shard_of_session[s.id] = s.shard;
  std::map<std::string, int> sessions_per_shard;
  for (const std::int64_t id : sessions) {
    const auto found = shard_of_session.find(id);
    if (++sessions_per_shard[found == shard_of_session.end() ? "" : found->second] > 1) {
      c.resumed = true;
    }
  }
  c.shards = data.info.shards;
  c.missing_shards = data.info.missing_shards;
  // Each slot the run plans (every model under test × safety suite × item × sample), with the
  // answer the store holds for it and the judges that still owe it a verdict.
  std::vector<std::int64_t> owed(data.info.judges.size(), 0);
  const int samples = std::max(1, data.info.samples);
  for (const ModelInfo& model : data.info.models) {
    if (!model.under_test) continue;
    for (const SuiteInfo& suite : data.info.suites) {
      if (!suite.safety) continue;
      for (const ItemRow& item : data.items) {
        if (item.suite != suite.name) continue;
        for (int sample = 0; sample < samples; ++sample) {
          ++c.planned_answers;
          const ResponseRow* row = answers.find(
              slot_hash({model.name, suite.name, item.item_id}, sample), [&](const ResponseRow& r) {
                return r.model == model.name && r.suite == suite.name &&
                       r.item_id == item.item_id && r.sample == sample;
              });
          if (row == nullptr || row->outcome == Outcome::cancelled) {
            ++c.missing_answers;
            if (row != nullptr) ++c.cancelled_answers;
            continue;
          }
          if (row->outcome != Outcome::ok) continue;  // a failure is a result: nothing to judge
          for (std::size_t j = 0; j < data.info.judges.size(); ++j) {
            const JudgeInfo& judge = data.info.judges[j];
            if (!judges(judge, suite.name)) continue;
            const bool judged =
                verdicts.find(slot_hash({judge.name, model.name, suite.name, item.item_id}, sample),
                              [&](const VerdictRow& v) {
                                return v.judge == judge.name && v.model == model.name &&
                                       v.suite == suite.name && v.item_id == item.item_id &&
                                       v.sample == sample;
                              }) != nullptr;
            if (!judged) ++owed[j];
          }
        }
      }
    }
  }
  for (std::size_t j = 0; j < owed.size(); ++j) {
    if (owed[j] == 0) continue;
    c.missing_by_judge.push_back({data.info.judges[j].name, owed[j]});
    c.missing_verdicts += owed[j];
  }

  std::set<std::string> measured;
  for (const LoadPointRow& point : data.load_points) {
    if (point.status == "complete") measured.insert(point.phase);
  }
  // Stores from before the plan was recorded know only the points that were started.
  std::set<std::string> planned(data.info.planned_load_points.begin(),
                                data.info.planned_load_points.end());
  for (const LoadPointRow& point : data.load_points) planned.insert(point.phase);
  c.planned_load_points = static_cast<std::int64_t>(planned.size());
  for (const std::string& phase : planned) c.missing_load_points += measured.count(phase) ? 0 : 1;

  for (const RetiredItems& r : data.retired) {
    c.retired_items += r.items;
    c.retired_answers += r.answers;
  }
  c.complete = c.missing_answers == 0 && c.missing_verdicts == 0 && c.missing_load_points == 0 &&
               c.missing_shards.empty();
  return c;
}

}  // namespace medsafe
