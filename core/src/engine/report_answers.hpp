#pragma once
/// Finding an answer's item and verdicts, for the reports that list answers one by one
/// (report.html, responses.jsonl).
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/run_data.hpp"

namespace medsafe {

/// Whether a response belongs to the safety run (the phase judges judge): "" or "safety".
[[nodiscard]] bool is_safety_phase(std::string_view phase) noexcept;

/// Indexes of one RunData, which must outlive it.
class AnswerLookup {
 public:
  explicit AnswerLookup(const RunData& data);
  /// The response's item, or nullptr when the store has none.
  [[nodiscard]] const ItemRow* item(const ResponseRow& response) const;
  /// The verdicts on a safety-phase response, in the run's judge order then by judge name;
  /// empty for other phases.
  [[nodiscard]] const std::vector<const VerdictRow*>& verdicts(const ResponseRow& response) const;

 private:
  std::unordered_map<std::string, const ItemRow*> items_;
  std::unordered_map<std::string, std::vector<const VerdictRow*>> verdicts_;
};

}  // namespace medsafe
