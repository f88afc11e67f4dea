#pragma once
/// Finding an answer's item and verdicts, for the reports that list answers one by one
/// (report.html, responses.jsonl).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "report/run_data.hpp"
#include "report/slot_index.hpp"

namespace medsafe {

/// Whether a response belongs to the safety run (the phase judges judge): "" or "safety".
[[nodiscard]] bool is_safety_phase(std::string_view phase) noexcept;

/// Indexes of one RunData, which must outlive it: sorted hashes and pointers (16 bytes an item
/// or verdict), where maps keyed by names took about ten times that at a million answers.
class AnswerLookup {
 public:
  explicit AnswerLookup(const RunData& data);
  /// The response's item, or nullptr when the store has none.
  [[nodiscard]] const ItemRow* item(const ResponseRow& response) const;
  /// The verdicts on a safety-phase response, in the run's judge order then by judge name;
  /// empty for other phases.
  [[nodiscard]] std::span<const VerdictRow* const> verdicts(const ResponseRow& response) const;

 private:
  SlotIndex<ItemRow> items_;
  std::vector<std::uint64_t> verdict_hashes_;    ///< ascending; verdict_rows_ in the same order,
  std::vector<const VerdictRow*> verdict_rows_;  ///< each response's together, in judge order
};

/// The texts the reports print of one answer: its item's prompt ("" without an item), its text
/// and its verdicts' reasons and raw outputs (AnswerLookup::verdicts' order).
struct AnswerTexts {
  std::string prompt;
  std::string text;
  std::vector<VerdictTexts> verdicts;
};

/// The texts of `rows` (each one of data.responses), in that order: with deferred texts read
/// from the store in one batch per table, so a writer holds only its batch's texts.
[[nodiscard]] std::vector<AnswerTexts> answer_texts(const RunData& data, const AnswerLookup& lookup,
                                                    std::span<const ResponseRow* const> rows);

}  // namespace medsafe
