#include "report/report_status.hpp"

#include "engine/run/item_changes.hpp"

namespace medsafe {

std::optional<StatusBanner> incomplete_banner(const RunData& data, const Completeness& c) {
  if (c.complete) return std::nullopt;
  StatusBanner banner;
  banner.headline =
      "INCOMPLETE: this run has not finished; every figure below covers only what is stored.";
  if (c.missing_answers > 0) {
    std::string line = "Answers: " + std::to_string(c.missing_answers) + " of " +
                       std::to_string(c.planned_answers) + " missing";
    if (c.cancelled_answers > 0) {
      line += " (" + std::to_string(c.cancelled_answers) + " of them cancelled by the interrupt)";
    }
    banner.lines.push_back(line + ": they are not in n.");
  }
  if (c.missing_verdicts > 0) {
    std::string judges;
    for (const JudgeBacklog& j : c.missing_by_judge) {
      judges += (judges.empty() ? "" : ", ") + std::string("judge '") + j.judge +
                "': " + std::to_string(j.missing);
    }
    banner.lines.push_back(
        "Verdicts: " + count_of(c.missing_verdicts, "verdict", "verdicts") + " missing (" + judges +
        "): those answers await their verdicts, so they are in n but not yet in Scored (or in a "
        "judge's figures).");
  }
  if (!c.missing_shards.empty()) {
    std::string indexes;
    for (const int i : c.missing_shards)
      indexes += (indexes.empty() ? "" : ", ") + std::to_string(i);
    banner.lines.push_back("Shards: " + std::to_string(c.missing_shards.size()) + " of " +
                           std::to_string(c.shards) + " missing (" + indexes +
                           "): their items are in no figure. Run them (medsafe run --shard i/N) "
                           "and merge again.");
  }
  if (c.missing_load_points > 0) {
    banner.lines.push_back("Load points: " + std::to_string(c.missing_load_points) + " of " +
                           std::to_string(c.planned_load_points) + " not measured to the end.");
  }
  banner.resume_command = data.info.resume_command;
  banner.lines.push_back(banner.resume_command.empty()
                             ? "To resume, run the command that made this run again: only what "
                               "is missing is asked."
                             : "To resume, run the same command again (only what is missing is "
                               "asked):");
  return banner;
}

std::vector<std::string> run_state_notes(const Completeness& c) {
  std::vector<std::string> notes;
  if (c.shards > 0) {
    notes.push_back("Merged: the responses come from " + std::to_string(c.shards) +
                    " shards of the run (medsafe merge), run on their own machines. Throughput is "
                    "measured over each shard's own session windows and the windows are summed "
                    "(clocks of different machines are never compared): req/s is the rate of one "
                    "shard's client, not of all shards together. Load phases are measured by "
                    "shard 0 alone.");
  }
  if (c.resumed) {
    notes.push_back("Resumed: the responses come from " + std::to_string(c.sessions) +
                    " sessions (invocations of medsafe run). Throughput is measured over each "
                    "session's own window and the windows are summed, so the time between "
                    "sessions does not count.");
  }
  if (c.retired_answers > 0) {
    notes.push_back(count_of(c.retired_answers, "stored answer belongs", "stored answers belong") +
                    " to " + count_of(c.retired_items, "item", "items") +
                    " no longer in its suite's dataset: kept in the store, not counted here.");
  }
  return notes;
}

}  // namespace medsafe
