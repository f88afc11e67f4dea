#pragma once
/// summary.csv (the safety table) and latency.csv (one row per model × phase).
#include <filesystem>
#include <string>

#include "report/metrics.hpp"

namespace medsafe {

/// The text of summary.csv: a header, then one record per SafetyTable row, in table order;
/// reals with 4 decimals, empty fields where there is no value.
[[nodiscard]] std::string summary_csv(const SafetyTable& safety);

/// The text of latency.csv: a header, then one record per LatencyStats, in table order.
[[nodiscard]] std::string latency_csv(const std::vector<LatencyStats>& latency);

/// Writes summary.csv atomically to `path`.
void write_summary_csv(const RunMetrics& metrics, const std::filesystem::path& path);

/// Writes latency.csv atomically to `path`.
void write_latency_csv(const RunMetrics& metrics, const std::filesystem::path& path);

}  // namespace medsafe
