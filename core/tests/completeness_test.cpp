// Completeness of a run from its stored data, and how the reports show it: the INCOMPLETE
// banner of report.md and report.html, complete/completeness in results.json, and the notes on
// a resumed run and on answers of items that left their suite.
#include "report/completeness.hpp"

#include <gtest/gtest.h>

#include "report/metrics.hpp"
#include "report/report_html.hpp"
#include "report/report_json.hpp"
#include "report/report_markdown.hpp"
#include "report_test_data.hpp"

namespace medsafe {
namespace {

using namespace test_data;

// Model m answers a, b, c and d of suite med; rubric and refusal judge every answer.
RunData finished_run() {
  RunData d;
  d.info = basic_info();
  d.info.resume_command = "medsafe run unit.toml --out 'runs/my run'";
  for (const char* id : {"a", "b", "c", "d"}) {
    d.items.push_back(item("med", id, "1"));
    d.responses.push_back(response("m", "med", id));
  }
  for (const ResponseRow& r : d.responses) {
    d.verdicts.push_back(score("rubric", r, 2));
    d.verdicts.push_back(refusal("refusal", r, false));
  }
  return d;
}

TEST(Completeness, AFinishedRunIsComplete) {
  const Completeness c = compute_completeness(finished_run());
  EXPECT_TRUE(c.complete);
  EXPECT_EQ(c.planned_answers, 4);
  EXPECT_EQ(c.missing_answers, 0);
  EXPECT_EQ(c.missing_verdicts, 0);
  EXPECT_TRUE(c.missing_by_judge.empty());
  EXPECT_EQ(c.sessions, 1);
}

TEST(Completeness, CountsMissingAndCancelledAnswersAndVerdictsPerJudge) {
  RunData d = finished_run();
  d.info.samples = 2;                            // 8 slots
  d.responses[1].outcome = Outcome::cancelled;   // b: stopped by the interrupt
  d.responses[2].outcome = Outcome::http_error;  // c: failed: a result, nothing to judge
  d.responses.erase(d.responses.begin() + 3);    // d: never asked
  std::erase_if(d.verdicts, [](const VerdictRow& v) {
    return v.item_id != "a" || v.judge == "refusal";  // only rubric's verdict on a is left
  });
  const Completeness c = compute_completeness(d);
  EXPECT_FALSE(c.complete);
  EXPECT_EQ(c.planned_answers, 8);
  EXPECT_EQ(c.missing_answers, 6);  // b (cancelled), d, and every sample 1
  EXPECT_EQ(c.cancelled_answers, 1);
  ASSERT_EQ(c.missing_by_judge.size(), 1U);
  EXPECT_EQ(c.missing_by_judge[0].judge, "refusal");
  EXPECT_EQ(c.missing_by_judge[0].missing, 1);  // on a, the only ok answer
  EXPECT_EQ(c.missing_verdicts, 1);
}

TEST(Completeness, OnlyJudgesOfTheSuiteAndSuitesOfTheSafetyPhaseArePlanned) {
  RunData d = finished_run();
  d.info.judges[1].suites = {"other"};  // refusal judges another suite only
  d.info.suites.push_back({"load-only", "synthetic", "general", {}, false});
  d.items.push_back(item("load-only", "x", ""));
  std::erase_if(d.verdicts, [](const VerdictRow& v) { return v.judge == "refusal"; });
  const Completeness c = compute_completeness(d);
  EXPECT_TRUE(c.complete);
  EXPECT_EQ(c.planned_answers, 4);
}

TEST(Completeness, LoadPointsPlannedButNotMeasuredAreMissing) {
  RunData d = finished_run();
  d.info.planned_load_points = {"load/s/m/concurrency=1", "load/s/m/concurrency=4"};
  LoadPointRow done;
  done.phase = "load/s/m/concurrency=1";
  done.status = "complete";
  d.load_points.push_back(done);
  Completeness c = compute_completeness(d);
  EXPECT_FALSE(c.complete);
  EXPECT_EQ(c.planned_load_points, 2);
  EXPECT_EQ(c.missing_load_points, 1);
  LoadPointRow cut = done;
  cut.phase = "load/s/m/concurrency=4";
  cut.status = "interrupted";
  d.load_points.push_back(cut);
  c = compute_completeness(d);
  EXPECT_EQ(c.missing_load_points, 1);
}

TEST(Completeness, SessionsAndRetiredAnswersAreCounted) {
  RunData d = finished_run();
  d.responses[2].session = 1;
  d.responses[3].session = 2;
  d.retired.push_back({"med", 2, 3, 4});
  const Completeness c = compute_completeness(d);
  EXPECT_EQ(c.sessions, 3);  // 0 (before sessions were recorded), 1 and 2
  EXPECT_EQ(c.retired_items, 2);
  EXPECT_EQ(c.retired_answers, 3);
  EXPECT_TRUE(c.complete);
}

RunData interrupted_run() {
  RunData d = finished_run();
  d.responses.pop_back();  // d never asked
  std::erase_if(d.verdicts, [](const VerdictRow& v) { return v.item_id == "c"; });
  return d;
}

TEST(CompletenessReports, AnInterruptedRunHasTheBannerUnderTheTitleOfBothReports) {
  const RunData d = interrupted_run();
  const RunMetrics metrics = compute_metrics(d, 50);
  const std::string md = report_markdown(d, metrics);
  EXPECT_EQ(md.rfind("# medsafe report: unit\n\n> **INCOMPLETE", 0), 0U) << md;
  EXPECT_NE(md.find("Answers: 1 of 4 missing"), std::string::npos) << md;
  EXPECT_NE(md.find("2 verdicts missing (judge 'rubric': 1, judge 'refusal': 1)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("not yet in Scored"), std::string::npos) << md;
  // The command verbatim, in a code block: none of its characters is escaped.
  EXPECT_NE(md.find(">         medsafe run unit.toml --out 'runs/my run'\n"), std::string::npos)
      << md;

  const std::string html = report_html(d, metrics);
  const std::size_t banner = html.find("<section class=\"note banner\" id=\"incomplete\"");
  ASSERT_NE(banner, std::string::npos);
  EXPECT_LT(html.find("<h1>"), banner);
  EXPECT_LT(banner, html.find("id=\"how-to-read\""));
  EXPECT_NE(html.find("Answers: 1 of 4 missing", banner), std::string::npos);
  EXPECT_NE(
      html.find("<pre class=\"command\">medsafe run unit.toml --out &#39;runs/my run&#39;", banner),
      std::string::npos)
      << html.substr(banner, 1200);

  const auto json = results_json(d, metrics);
  EXPECT_EQ(json["complete"], false);
  EXPECT_EQ(json["completeness"]["missing_answers"], 1);
  EXPECT_EQ(json["completeness"]["missing_verdicts"], 2);
  EXPECT_EQ(json["completeness"]["missing_verdicts_by_judge"]["rubric"], 1);
  EXPECT_EQ(json["completeness"]["resume_command"], d.info.resume_command);
}

TEST(CompletenessReports, AFinishedRunHasNoBanner) {
  const RunData d = finished_run();
  const RunMetrics metrics = compute_metrics(d, 50);
  EXPECT_EQ(report_markdown(d, metrics).find("INCOMPLETE"), std::string::npos);
  EXPECT_EQ(report_html(d, metrics).find("INCOMPLETE"), std::string::npos);
  const auto json = results_json(d, metrics);
  EXPECT_EQ(json["complete"], true);
  EXPECT_EQ(json["run"]["resumed"], false);
  EXPECT_EQ(json["run"]["sessions"], 1);
}

TEST(CompletenessReports, AResumedRunSaysSoAndCountsAnswersThatLeftTheirSuite) {
  RunData d = finished_run();
  d.responses[2].session = 1;
  d.responses[3].session = 2;
  d.retired.push_back({"med", 1, 1, 2});
  const RunMetrics metrics = compute_metrics(d, 50);
  const std::string md = report_markdown(d, metrics);
  EXPECT_NE(md.find("- Resumed: the responses come from 3 sessions"), std::string::npos) << md;
  EXPECT_NE(md.find("1 stored answer belongs to 1 item no longer in its suite"), std::string::npos)
      << md;
  const std::string html = report_html(d, metrics);
  EXPECT_NE(html.find("Resumed: the responses come from 3 sessions"), std::string::npos);
  const auto json = results_json(d, metrics);
  EXPECT_EQ(json["run"]["resumed"], true);
  EXPECT_EQ(json["run"]["sessions"], 3);
  EXPECT_EQ(json["completeness"]["retired_answers"], 1);
}

}  // namespace
}  // namespace medsafe
