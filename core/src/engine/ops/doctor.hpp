#pragma once
/// Checks a run directory's store: SQLite integrity, counts that reconcile, answers paired with
/// the text they were asked for, and what a resume would do. It opens the store read-only (no
/// byte of medsafe.db or its -wal changes) and asks no model; to compare the stored items with
/// the datasets it loads only the suites, from the run file text the store recorded.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "medsafe/log.hpp"

namespace medsafe {

/// What examine_run_directory may use besides the store.
struct DoctorOptions {
  std::vector<std::filesystem::path> plugin_paths;  ///< more folders with plugins
  std::filesystem::path cache_dir;                  ///< for suites that download
  Log* log = nullptr;  ///< for the suites' warnings; none: they are dropped
};

struct DoctorReport {
  bool consistent = true;             ///< integrity ok and nothing contradictory found
  std::vector<std::string> findings;  ///< what is wrong, one line each
  std::vector<std::string> facts;     ///< counts, one line each
  std::vector<std::string> resume;    ///< what a rerun of the same command would do
};

/// Examines `dir`; throws an io Error when it holds no store. Edited dataset rows under stored
/// answers, answers asked with other text than their item's, and stored answers of items no
/// longer in their suite are findings (not consistent).
[[nodiscard]] DoctorReport examine_run_directory(const std::filesystem::path& dir,
                                                 const DoctorOptions& options = {});

}  // namespace medsafe
