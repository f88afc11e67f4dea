#pragma once
/// Every report file of a run, written in one call.
#include <filesystem>
#include <vector>

#include "engine/run_data.hpp"

namespace medsafe {

/// Computes the run's metrics and writes summary.csv, latency.csv, results.json, report.md,
/// report.html and responses.jsonl into `dir` (created if missing), each atomically. Returns the
/// files written, in that order.
/// Throws Error(io) naming the file when one cannot be written.
std::vector<std::filesystem::path> write_reports(const RunData& data,
                                                 const std::filesystem::path& dir);

}  // namespace medsafe
