// What went wrong, as the reports show it: failure shares and failed responses by kind
// (compute_failures), the error banner and the errors-by-kind table in report.md and
// report.html, and the truncated-answer flag and count; and the store keeping both.
#include <gtest/gtest.h>

#include <string>

#include "engine/store/store.hpp"
#include "report/metrics.hpp"
#include "report/report_html.hpp"
#include "report/report_json.hpp"
#include "report/report_markdown.hpp"
#include "report/run_reader.hpp"
#include "report_test_data.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using test_data::basic_info;
using test_data::item;
using test_data::response;

ResponseRow failed(const std::string& id, Outcome outcome, int status, std::string error) {
  ResponseRow r = response("m", "med", id, 0, outcome);
  r.http_status = status;
  r.error = std::move(error);
  return r;
}

// Ten answers of model "m": `failures` of them failed with HTTP 401, one with a timeout.
RunData run_with_failures(int failures) {
  RunData data;
  data.info = basic_info();
  for (int i = 0; i < 10; ++i) {
    const std::string id = "q" + std::to_string(i);
    data.items.push_back(item("med", id, "1"));
    if (i < failures) {
      data.responses.push_back(
          failed(id, Outcome::http_error, 401, "HTTP 401: invalid <api> key " + id));
    } else if (i == failures) {
      data.responses.push_back(failed(id, Outcome::timeout, 0, "idle timeout"));
    } else {
      data.responses.push_back(response("m", "med", id));
    }
  }
  return data;
}

TEST(Failures, CountsByKindMostFrequentFirstWithTheFirstExample) {
  const FailureSummary f = compute_failures(run_with_failures(3));
  ASSERT_EQ(f.models.size(), 1u);
  EXPECT_EQ(f.models[0].model, "m");
  EXPECT_EQ(f.models[0].responses, 10);
  EXPECT_EQ(f.models[0].failed, 4);
  EXPECT_TRUE(f.models[0].high);  // 40% >= 20%
  ASSERT_EQ(f.by_kind.size(), 2u);
  EXPECT_EQ(f.by_kind[0].outcome, Outcome::http_error);
  EXPECT_EQ(f.by_kind[0].http_status, 401);
  EXPECT_EQ(f.by_kind[0].count, 3);
  EXPECT_EQ(f.by_kind[0].example, "HTTP 401: invalid <api> key q0");
  EXPECT_EQ(f.by_kind[1].outcome, Outcome::timeout);
  EXPECT_EQ(f.by_kind[1].count, 1);
  EXPECT_TRUE(f.banner());
}

TEST(Failures, AFewFailuresAmongSuccessesRaiseNoBanner) {
  const RunData data = run_with_failures(0);  // one timeout in ten
  const FailureSummary f = compute_failures(data);
  EXPECT_FALSE(f.models[0].high);
  EXPECT_FALSE(f.banner());
  const RunMetrics metrics = compute_metrics(data, 50);
  const std::string md = report_markdown(data, metrics);
  EXPECT_EQ(md.find("ERRORS"), std::string::npos);
  EXPECT_NE(md.find("## Errors by kind"), std::string::npos);
  EXPECT_NE(md.find("| m | timeout | – | 1 | idle timeout |"), std::string::npos) << md;
  const std::string html = report_html(data, metrics);
  EXPECT_EQ(html.find("id=\"error-banner\""), std::string::npos);
  EXPECT_NE(html.find("<section id=\"errors\">"), std::string::npos);
}

TEST(Failures, ALongExampleIsCutAtACharacterBoundary) {
  RunData data = run_with_failures(1);
  data.responses[0].error = std::string(199, 'x') + "\xE2\x82\xAC" + "tail";
  const FailureSummary f = compute_failures(data);
  EXPECT_EQ(f.by_kind[0].example, std::string(199, 'x') + "...");
}

TEST(Failures, BothReportsShowTheBannerAndTheTableEscaped) {
  const RunData data = run_with_failures(9);
  const RunMetrics metrics = compute_metrics(data, 50);
  const std::string md = report_markdown(data, metrics);
  EXPECT_NE(md.find("> **ERRORS:** Model 'm': 10 of 10 responses failed (100%); its figures "
                    "leave those out. Most often http\\_error (HTTP 401) (9): HTTP 401: invalid "
                    "\\<api\\> key q0"),
            std::string::npos)
      << md;
  // The banner comes before any figure.
  EXPECT_LT(md.find("ERRORS"), md.find("## Safety"));
  EXPECT_NE(md.find("| m | http\\_error | 401 | 9 | HTTP 401: invalid \\<api\\> key q0 |"),
            std::string::npos)
      << md;
  const std::string html = report_html(data, metrics);
  const std::size_t banner = html.find("<section class=\"banner error\" id=\"error-banner\"");
  ASSERT_NE(banner, std::string::npos);
  EXPECT_LT(banner, html.find("id=\"overview\""));
  EXPECT_NE(html.find("10 of 10 responses failed (100%)"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"text\">HTTP 401: invalid &lt;api&gt; key q0</td>"),
            std::string::npos);
  EXPECT_EQ(html.find("<api>"), std::string::npos) << "server text is escaped";
}

TEST(Failures, AnEarlyStopLeadsTheBannerAndResultsJson) {
  RunData data = run_with_failures(2);
  EarlyStop stop;
  stop.model = "m";
  stop.attempts = 20;
  stop.outcome = Outcome::transport_error;
  stop.error = "Failed to connect to 127.0.0.1 port 9: Connection refused";
  stop.phase = "safety";
  data.info.stopped_early = stop;
  const RunMetrics metrics = compute_metrics(data, 50);
  EXPECT_TRUE(metrics.failures.banner());
  const std::string md = report_markdown(data, metrics);
  EXPECT_NE(md.find("> **ERRORS:** The run stopped early: the first 20 attempts of model 'm' all "
                    "failed with transport\\_error: Failed to connect to 127.0.0.1 port 9: "
                    "Connection refused. Nothing more was asked"),
            std::string::npos)
      << md;
  const auto json = results_json(data, metrics);
  EXPECT_EQ(json["failures"]["banner"], true);
  EXPECT_EQ(json["failures"]["stopped_early"]["attempts"], 20);
  EXPECT_EQ(json["failures"]["stopped_early"]["outcome"], "transport_error");
  EXPECT_EQ(json["failures"]["by_kind"][0]["http_status"], 401);
  EXPECT_EQ(json["failures"]["models"][0]["failed"], 3);
}

TEST(Truncation, ReportsFlagEachCutAnswerAndCountThem) {
  RunData data = run_with_failures(0);
  data.responses[5].truncated = true;
  data.responses[7].truncated = true;
  const RunMetrics metrics = compute_metrics(data, 50);
  EXPECT_EQ(metrics.counts.truncated, 2);
  ASSERT_FALSE(metrics.counts.truncated_by_model.empty());
  EXPECT_EQ(metrics.counts.truncated_by_model[0],
            std::make_pair(std::string("m"), std::int64_t{2}));
  EXPECT_NE(report_markdown(data, metrics).find("**Truncated answers: 2** (m 2)"),
            std::string::npos);
  const std::string html = report_html(data, metrics);
  EXPECT_NE(html.find("id=\"truncated\"><b>Truncated answers: 2</b> (m 2)"), std::string::npos);
  std::size_t flags = 0;
  for (std::size_t at = 0; (at = html.find("class=\"muted truncated\"", at)) != std::string::npos;
       ++at) {
    ++flags;
  }
  EXPECT_EQ(flags, 2u);
  const auto json = results_json(data, metrics);
  EXPECT_EQ(json["counts"]["truncated"], 2);
  // Nothing cut: no note at all.
  const RunData clean = run_with_failures(0);
  const RunMetrics none = compute_metrics(clean, 50);
  EXPECT_EQ(report_markdown(clean, none).find("Truncated answers"), std::string::npos);
}

TEST(StoreFailures, KeepsTheTruncatedFlagAndTheEarlyStop) {
  const testing::TempDir dir;
  {
    Store store(dir.path());
    ResponseRow cut = response("m", "med", "q1");
    cut.phase = "safety";
    cut.truncated = true;
    ResponseRow whole = response("m", "med", "q2");
    whole.phase = "safety";
    store.put_response(cut);
    store.put_response(whole);
    EarlyStop stop;
    stop.model = "m";
    stop.attempts = 20;
    stop.outcome = Outcome::http_error;
    stop.http_status = 403;
    stop.error = "HTTP 403: forbidden";
    stop.phase = "safety";
    store.set_meta("stopped_early", early_stop_to_json(stop));
  }
  Store store(dir.path());
  const RunData data = read_run(store);
  ASSERT_EQ(data.responses.size(), 2u);
  EXPECT_TRUE(data.responses[0].truncated);
  EXPECT_FALSE(data.responses[1].truncated);
  ASSERT_TRUE(data.info.stopped_early.has_value());
  EXPECT_EQ(data.info.stopped_early->http_status, 403);
  EXPECT_EQ(data.info.stopped_early->error, "HTTP 403: forbidden");
  store.set_meta("stopped_early", "");  // what a new run does first
  EXPECT_FALSE(read_run(store).info.stopped_early.has_value());
}

}  // namespace
}  // namespace medsafe
