#include "report/endpoint_stats.hpp"

#include <algorithm>
#include <map>
#include <string>

namespace medsafe {

std::vector<LatencyStats> compute_endpoint_table(const RunData& data) {
  struct Group {
    std::vector<const ResponseRow*> served;  ///< rows whose last send went to the replica
    std::int64_t failed_before = 0;          ///< sends that failed there and went on elsewhere
  };
  // model -> phases in order of first appearance -> replica -> group
  std::map<std::string, std::vector<std::pair<std::string, std::map<std::string, Group>>>> groups;
  for (const ResponseRow& r : data.responses) {
    if (r.endpoints.empty()) continue;
    const std::string phase = r.phase.empty() ? "safety" : r.phase;
    auto& phases = groups[r.model];
    auto it = std::find_if(phases.begin(), phases.end(),
                           [&phase](const auto& p) { return p.first == phase; });
    if (it == phases.end()) it = phases.insert(phases.end(), {phase, {}});
    for (std::size_t i = 0; i + 1 < r.endpoints.size(); ++i) {
      Group& earlier = it->second[r.endpoints[i].endpoint];
      earlier.failed_before += r.endpoints[i].outcome != Outcome::ok ? 1 : 0;
    }
    it->second[r.endpoints.back().endpoint].served.push_back(&r);
  }
  std::vector<std::string> order;
  for (const ModelInfo& m : data.info.models) order.push_back(m.name);
  for (const auto& [model, phases] : groups) {
    if (std::find(order.begin(), order.end(), model) == order.end()) order.push_back(model);
  }
  std::vector<LatencyStats> table;
  for (const std::string& model : order) {
    const auto found = groups.find(model);
    if (found == groups.end()) continue;
    for (const auto& [phase, replicas] : found->second) {
      for (const auto& [endpoint, group] : replicas) {
        LatencyStats s = compute_latency(group.served, model, phase);
        s.mode = "endpoint";
        s.endpoint = endpoint;
        s.requests += group.failed_before;
        s.failed += group.failed_before;
        table.push_back(std::move(s));
      }
    }
  }
  return table;
}

}  // namespace medsafe
