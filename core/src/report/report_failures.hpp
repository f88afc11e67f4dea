#pragma once
/// The words of the error banner, the errors-by-kind table and the truncation note, shared by
/// report.md and report.html (each escapes them its own way).
#include <string>
#include <vector>

#include "report/metrics.hpp"

namespace medsafe {

/// The error banner's sentences, as plain text: why the run stopped early, then each model whose
/// failure share is high with its most frequent kind of failure. Empty when no banner is due.
[[nodiscard]] std::vector<std::string> failure_banner_lines(const FailureSummary& failures);

/// "http_error", "http_error (HTTP 401)": an outcome with its status, when there is one.
[[nodiscard]] std::string outcome_with_status(Outcome outcome, int http_status);

/// "target 2, other 1": the models with truncated answers and how many each (plain text).
[[nodiscard]] std::string truncated_by_model_text(const RunCounts& counts);
/// "guarded 180, other 3": the models whose guard answered for them, with their counts.
[[nodiscard]] std::string guard_blocked_by_model_text(const RunCounts& counts);

}  // namespace medsafe
