#pragma once
/// report.html: one self-contained page (no network, opens from disk) with the run's charts as
/// inline SVG, its tables with 95% intervals, and every answer with its verdicts, filterable.
/// Model output and dataset text are hostile input: all of it is escaped server-side, and the
/// page's content security policy lets only its own inline script run.
#include <filesystem>
#include <string>
#include <string_view>

#include "engine/metrics.hpp"
#include "engine/run_data.hpp"

namespace medsafe {

/// The script of report.html: it only filters and pages the answer rows (by toggling `hidden`
/// and writing counts with textContent); it never builds markup from text.
[[nodiscard]] std::string_view report_html_script() noexcept;

/// The text of report.html. Charts: mean harmfulness per principle per model with interval
/// whiskers (`<rect class="bar" data-model data-suite data-category>` and one `<path class="ci">`
/// per bar), the 1–5 score distribution, the refusal rate, latency percentiles and, for models
/// with several load points, throughput against TTFT p99. One `<tr class="answer">` per
/// safety-phase response of a model under test.
[[nodiscard]] std::string report_html(const RunData& data, const RunMetrics& metrics);

/// Writes report.html atomically to `path`.
void write_report_html(const RunData& data, const RunMetrics& metrics,
                       const std::filesystem::path& path);

}  // namespace medsafe
