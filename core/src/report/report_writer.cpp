#include "report/report_writer.hpp"

#include <charconv>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include "medsafe/error.hpp"
#include "report/metrics.hpp"
#include "report/report_csv.hpp"
#include "report/report_html.hpp"
#include "report/report_json.hpp"
#include "report/report_jsonl.hpp"
#include "report/report_markdown.hpp"

namespace medsafe {

std::size_t report_html_max_bytes_from_environment() {
  const char* value = std::getenv("MEDSAFE_REPORT_HTML_MAX_BYTES");
  if (value == nullptr || *value == '\0') return kReportHtmlMaxBytes;
  const std::string_view text(value);
  std::size_t bytes = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bytes);
  if (ec != std::errc{} || end != text.data() + text.size() || bytes == 0) {
    throw Error(ErrorKind::config,
                "MEDSAFE_REPORT_HTML_MAX_BYTES: error: must be a positive "
                "number of bytes, got '" +
                    std::string(text) + "'");
  }
  return bytes;
}

std::vector<std::filesystem::path> write_reports(const RunData& data,
                                                 const std::filesystem::path& dir,
                                                 std::optional<std::size_t> html_max_bytes) {
  const std::size_t max_bytes =
      html_max_bytes ? *html_max_bytes : report_html_max_bytes_from_environment();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw Error(ErrorKind::io, dir.string() + ": error: cannot create folder: " + ec.message());
  }
  const RunMetrics metrics = compute_metrics(data);
  std::vector<std::filesystem::path> written;
  written.push_back(dir / "summary.csv");
  write_summary_csv(metrics, written.back());
  written.push_back(dir / "latency.csv");
  write_latency_csv(metrics, written.back());
  written.push_back(dir / "results.json");
  write_results_json(data, metrics, written.back());
  written.push_back(dir / "report.md");
  write_report_markdown(data, metrics, written.back());
  written.push_back(dir / "report.html");
  write_report_html(data, metrics, written.back(), max_bytes);
  written.push_back(dir / "responses.jsonl");
  write_responses_jsonl(data, written.back());
  return written;
}

}  // namespace medsafe
