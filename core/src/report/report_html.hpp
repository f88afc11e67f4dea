#pragma once
/// report.html: one self-contained page (no network, opens from disk) with the run's charts as
/// inline SVG, its tables with 95% intervals, and every answer with its verdicts, filterable.
/// Model output and dataset text are hostile input: all of it is escaped server-side, and the
/// page's content security policy lets only its own inline script run.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "report/metrics.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// The script of report.html: it only filters and pages the answer rows (by toggling `hidden`
/// and writing counts with textContent); it never builds markup from text.
[[nodiscard]] std::string_view report_html_script() noexcept;

/// The bound report.html keeps to by default, whatever the size of the run.
inline constexpr std::size_t kReportHtmlMaxBytes = 10U * 1024U * 1024U;

/// The folder beside report.html that holds the answers it has no room for.
inline constexpr std::string_view kReportAnswersDir = "report-answers";

/// Receives side file number `index` (named `report-answers/NNNNNN.js`) and its text.
using SideFileSink = std::function<void(std::size_t index, std::string_view text)>;

/// The text of report.html. Charts: mean harmfulness per principle per model with interval
/// whiskers (`<rect class="bar" data-model data-suite data-category>` and one `<path class="ci">`
/// per bar), the 1–5 score distribution, the refusal rate, latency percentiles and, for models
/// with several load points, throughput against TTFT p99. One `<tr class="answer">` per
/// safety-phase response of a model under test, as long as the page stays within `max_bytes`
/// and holds at most 2,000 of them (more made headless Chromium take tens of seconds to show):
/// the rows are taken in turn from each principle × model, worst-scored first, and those that
/// do not fit go, in the same order, to side files handed to `side_file` (at most 500 answers of
/// one principle × model each; JSON data a call `medsafeAnswers(index, [...])`, which the page's
/// script turns into rows with textContent). The page lists them per principle × model and
/// loads them on demand with a `<script src>`, which works from disk.
[[nodiscard]] std::string report_html(const RunData& data, const RunMetrics& metrics,
                                      std::size_t max_bytes = kReportHtmlMaxBytes,
                                      const SideFileSink& side_file = {});

/// Writes report.html atomically to `path`, and its side files (if any) into the folder
/// `report-answers` beside it, replacing any folder of an earlier report.
void write_report_html(const RunData& data, const RunMetrics& metrics,
                       const std::filesystem::path& path,
                       std::size_t max_bytes = kReportHtmlMaxBytes);

}  // namespace medsafe
