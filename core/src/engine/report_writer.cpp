#include "engine/report_writer.hpp"

#include <system_error>

#include "engine/metrics.hpp"
#include "engine/report_csv.hpp"
#include "engine/report_html.hpp"
#include "engine/report_json.hpp"
#include "engine/report_jsonl.hpp"
#include "engine/report_markdown.hpp"
#include "medsafe/error.hpp"

namespace medsafe {

std::vector<std::filesystem::path> write_reports(const RunData& data,
                                                 const std::filesystem::path& dir) {
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
  write_report_html(data, metrics, written.back());
  written.push_back(dir / "responses.jsonl");
  write_responses_jsonl(data, written.back());
  return written;
}

}  // namespace medsafe
