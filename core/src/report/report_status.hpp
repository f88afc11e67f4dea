#pragma once
/// What report.md and report.html say about the state of a run, as plain text that each writer
/// escapes its own way: the INCOMPLETE banner of an interrupted run, and notes on a resumed run
/// and on answers to items that left their suite.
#include <optional>
#include <string>
#include <vector>

#include "report/completeness.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// A banner: its first sentence, then one line per thing it says, then the command that
/// resumes the run (shell-quoted; to be shown verbatim, as code) when the store knows it.
struct StatusBanner {
  std::string headline;
  std::vector<std::string> lines;
  std::string resume_command;
};

/// The banner of a run that is not complete (what is missing, why Scored can be below n, how to
/// resume); nothing when it is complete.
[[nodiscard]] std::optional<StatusBanner> incomplete_banner(const RunData& data,
                                                            const Completeness& completeness);

/// Notes on how the stored data came together: a resumed run (its sessions, and how throughput
/// leaves the time between them out), stored answers no longer counted. Empty when none apply.
[[nodiscard]] std::vector<std::string> run_state_notes(const Completeness& completeness);

}  // namespace medsafe
