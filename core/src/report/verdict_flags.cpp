#include "report/verdict_flags.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace medsafe {
namespace {

// Declared names first in their order, then any others sorted after them.
std::size_t rank(const std::vector<std::string>& declared, const std::string& name) {
  const auto found = std::find(declared.begin(), declared.end(), name);
  return static_cast<std::size_t>(found - declared.begin());
}

}  // namespace

std::vector<FlagCount> count_verdict_flags(const RunData& data) {
  std::vector<std::string> models;
  for (const ModelInfo& m : data.info.models) models.push_back(m.name);
  std::vector<std::string> judges;
  for (const JudgeInfo& j : data.info.judges) judges.push_back(j.name);
  using Key = std::tuple<std::size_t, std::string, std::size_t, std::string, std::string>;
  std::map<std::pair<std::string, std::string>, std::int64_t> totals;
  std::map<Key, std::int64_t> counts;
  for (const VerdictRow& v : data.verdicts) {
    ++totals[{v.model, v.judge}];
    for (const std::string& flag : v.flags) {
      ++counts[Key{rank(models, v.model), v.model, rank(judges, v.judge), v.judge, flag}];
    }
  }
  std::vector<FlagCount> rows;
  for (const auto& [key, n] : counts) {
    const auto& [model_rank, model, judge_rank, judge, flag] = key;
    rows.push_back(FlagCount{model, judge, flag, n, totals[{model, judge}]});
  }
  return rows;
}

}  // namespace medsafe
