#pragma once
/// report.md: a short human-readable report of a run.
#include <filesystem>
#include <string>
#include <string_view>

#include "report/metrics.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// `text` made inert for Markdown, whole in one table cell: backslash before \ ` * _ [ ] < > |
/// ~ & (so no link, image, HTML, code or emphasis can form and no cell can be split), and every
/// CR, LF or other control character as a space.
[[nodiscard]] std::string markdown_escape(std::string_view text);

/// The text of report.md. Every name taken from the run (models, suites, categories, files)
/// passes through markdown_escape.
[[nodiscard]] std::string report_markdown(const RunData& data, const RunMetrics& metrics);

/// Writes report.md atomically to `path`.
void write_report_markdown(const RunData& data, const RunMetrics& metrics,
                           const std::filesystem::path& path);

}  // namespace medsafe
