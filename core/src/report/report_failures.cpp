#include "report/report_failures.hpp"

#include <algorithm>

#include "report/report_io.hpp"

namespace medsafe {

std::string outcome_with_status(Outcome outcome, int http_status) {
  std::string text(to_string(outcome));
  if (http_status != 0) text += " (HTTP " + std::to_string(http_status) + ")";
  return text;
}

std::vector<std::string> failure_banner_lines(const FailureSummary& failures) {
  std::vector<std::string> lines;
  if (!failures.banner()) return lines;
  if (const auto& stop = failures.stopped_early) {
    lines.push_back("The run stopped early: the first " + std::to_string(stop->attempts) +
                    " attempts of model '" + stop->model + "'" +
                    (stop->phase == "safety" ? "" : " (" + stop->phase + ")") +
                    " all failed with " + outcome_with_status(stop->outcome, stop->http_status) +
                    ": " + stop->error +
                    ". Nothing more was asked: the figures below cover only what was collected. "
                    "Check the model's base_url, model and API key, then run again to resume.");
  }
  for (const ModelFailures& m : failures.models) {
    if (!m.high) continue;
    std::string line =
        "Model '" + m.model + "': " + std::to_string(m.failed) + " of " +
        std::to_string(m.responses) + " responses failed (" +
        format_fixed(100.0 * static_cast<double>(m.failed) / static_cast<double>(m.responses), 0) +
        "%); its figures leave those out.";
    // by_kind lists each model's kinds most frequent first.
    const auto top = std::find_if(failures.by_kind.begin(), failures.by_kind.end(),
                                  [&m](const FailureKind& k) { return k.model == m.model; });
    if (top != failures.by_kind.end()) {
      line += " Most often " + outcome_with_status(top->outcome, top->http_status) + " (" +
              std::to_string(top->count) + "): " + top->example;
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

namespace {
std::string nonzero_counts_text(const NamedCounts& counts) {
  std::string text;
  for (const auto& [model, n] : counts) {
    if (n > 0) text += (text.empty() ? "" : ", ") + model + " " + std::to_string(n);
  }
  return text;
}
}  // namespace

std::string truncated_by_model_text(const RunCounts& counts) {
  return nonzero_counts_text(counts.truncated_by_model);
}

std::string guard_blocked_by_model_text(const RunCounts& counts) {
  return nonzero_counts_text(counts.guard_blocked_by_model);
}

}  // namespace medsafe
