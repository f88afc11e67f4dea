#pragma once
/// Every report file of a run, written in one call.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <vector>

#include "report/run_data.hpp"

namespace medsafe {

/// Computes the run's metrics and writes summary.csv, latency.csv, results.json, report.md,
/// report.html and responses.jsonl into `dir` (created if missing), each atomically. Returns the
/// files written, in that order.
/// report.html stays within `html_max_bytes` (by default $MEDSAFE_REPORT_HTML_MAX_BYTES, else
/// 10 MiB); the answers it has no room for go to `dir/report-answers/`.
/// Throws Error(io) naming the file when one cannot be written.
std::vector<std::filesystem::path> write_reports(
    const RunData& data, const std::filesystem::path& dir,
    std::optional<std::size_t> html_max_bytes = std::nullopt);

/// The bound of report.html: $MEDSAFE_REPORT_HTML_MAX_BYTES (a positive integer of bytes) when
/// set, else kReportHtmlMaxBytes. Throws Error(config) naming the variable when it is not one.
[[nodiscard]] std::size_t report_html_max_bytes_from_environment();

}  // namespace medsafe
