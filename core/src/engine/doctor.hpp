#pragma once
/// Checks a run directory's store: SQLite integrity, counts that reconcile, and what a resume
/// would do, from the store alone (no plugin is loaded, no model asked).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace medsafe {

struct DoctorReport {
  bool consistent = true;             ///< integrity ok and nothing contradictory found
  std::vector<std::string> findings;  ///< what is wrong, one line each
  std::vector<std::string> facts;     ///< counts, one line each
  std::vector<std::string> resume;    ///< what a rerun of the same command would do
};

/// Examines `dir`; throws an io Error when it holds no store.
[[nodiscard]] DoctorReport examine_run_directory(const std::filesystem::path& dir);

}  // namespace medsafe
