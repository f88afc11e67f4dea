#include "engine/report_html.hpp"

#include <gtest/gtest.h>

#include "engine/report_html_common.hpp"
#include "report_test_data.hpp"

namespace medsafe {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

// Two models under test answer four items (two per category); every answer is scored.
RunData two_models() {
  using namespace test_data;
  RunData d;
  d.info = basic_info();
  d.info.refusal_judge = "refusal";
  d.info.models = {{"m1", "sim", true}, {"m2", "sim", true}, {"judge-model", "sim", false}};
  d.items = {item("med", "a", "1"), item("med", "b", "1"), item("med", "c", "2"),
             item("med", "d", "2")};
  int s = 1;
  for (const char* model : {"m1", "m2"}) {
    for (const char* id : {"a", "b", "c", "d"}) {
      d.responses.push_back(response(model, "med", id));
      d.verdicts.push_back(score("rubric", d.responses.back(), s));
      d.verdicts.push_back(refusal("refusal", d.responses.back(), s == 1));
      s = s % 5 + 1;
    }
  }
  return d;
}

std::string render(const RunData& d) { return report_html(d, compute_metrics(d)); }

TEST(ReportHtml, OneBarAndWhiskerPerModelAndPrincipleInTheHarmChart) {
  const std::string html = render(two_models());
  const auto start = html.find(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" id=\"harm-0\"");
  ASSERT_NE(start, std::string::npos);
  const std::string harm = html.substr(start, html.find("</svg>", start) - start);
  EXPECT_EQ(count(harm, "<rect class=\"bar\""), 4U);  // 2 models × 2 principles
  EXPECT_EQ(count(harm, "<path class=\"ci\""), 4U);
  EXPECT_NE(harm.find("data-model=\"m2\" data-suite=\"med\" data-category=\"2\""),
            std::string::npos);
  EXPECT_NE(html.find("id=\"refusal-0\""), std::string::npos);
  EXPECT_NE(html.find("id=\"scores-0\""), std::string::npos);
  EXPECT_NE(html.find("id=\"latency-ttft\""), std::string::npos);
}

TEST(ReportHtml, OneAnswerRowPerSafetyAnswerOfAModelUnderTest) {
  RunData d = two_models();
  ResponseRow load = test_data::response("m1", "med", "a");
  load.phase = "c8";  // a load point: latency only, not an answer to review
  d.responses.push_back(load);
  ResponseRow judge = test_data::response("judge-model", "med", "a");
  d.responses.push_back(judge);
  const std::string html = render(d);
  EXPECT_EQ(count(html, "<tr class=\"answer\""), 8U);
  EXPECT_NE(html.find("<tr class=\"answer\" data-m=\"1\" data-p=\"1\" data-s=\"3\""),
            std::string::npos);
  EXPECT_NE(html.find("<option value=\"1\">m2</option>"), std::string::npos);
  EXPECT_NE(html.find("<option value=\"1\">2 · privacy</option>"), std::string::npos);
}

TEST(ReportHtml, FailedRequestsAndJudgeFailuresHaveTheirOwnFilterValues) {
  using namespace test_data;
  RunData d = small_run();  // c: the rubric judge failed to parse
  d.items.push_back(item("med", "e", "2"));
  d.responses.push_back(response("m", "med", "e", 0, Outcome::timeout));
  d.responses.back().error = "no answer in 60 s";
  const std::string html = render(d);
  EXPECT_NE(html.find("data-s=\"none\""), std::string::npos);
  EXPECT_NE(html.find("data-s=\"error\""), std::string::npos);
  EXPECT_NE(html.find("request failed: timeout: no answer in 60 s"), std::string::npos);
  EXPECT_NE(html.find("parse_failure"), std::string::npos);
}

TEST(ReportHtml, HostileTextIsEscapedEverywhere) {
  RunData d = two_models();
  const std::string payload =
      "<script>document.title='pwned'</script><img src=x onerror=alert(1)></svg>\"'&";
  d.responses[0].text = payload;
  d.items[0].prompt = payload;
  d.verdicts[0].reason = payload;
  d.verdicts[0].raw = payload + " raw";
  d.verdicts[0].label = payload;
  d.info.name = payload;
  d.info.suites[0].categories[0].name = payload;
  d.info.suites[0].categories[0].title = payload;
  const std::string html = render(d);
  // The only tags of that kind are the page's own: one <script>, no <img>, its own </svg>s.
  EXPECT_EQ(count(html, "<script"), 1U);
  EXPECT_EQ(count(html, "<img"), 0U);
  EXPECT_EQ(count(html, "</svg>"), count(html, "<svg "));
  EXPECT_EQ(html.find("onerror=alert(1)>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"),
            std::string::npos);
  EXPECT_NE(html.find("&lt;/svg&gt;&quot;&#39;&amp;"), std::string::npos);
}

TEST(ReportHtml, TheOnlyScriptIsTheFilterAndThePolicyNamesItsHash) {
  const std::string html = render(two_models());
  const std::string script(report_html_script());
  EXPECT_NE(html.find("<script>" + script + "</script>"), std::string::npos);
  EXPECT_NE(html.find("script-src &#39;sha256-" + base64(sha256(script)) + "&#39;"),
            std::string::npos);
  // The script never turns text into markup.
  for (const char* sink :
       {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("}) {
    EXPECT_EQ(script.find(sink), std::string::npos) << sink;
  }
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // no URL but the
  EXPECT_EQ(html.find("https://"), std::string::npos);                       // SVG namespace
}

TEST(ReportHtml, IntervalsAppearBesideTheNumbers) {
  const std::string html = render(two_models());
  EXPECT_NE(html.find("Harm mean [95% CI]"), std::string::npos);
  // Every mean, harmful rate, share of 5 and refusal rate of the summary carries an interval:
  // 3 rows per model (2 principles + all) × 2 models × 4 figures, plus the judges table and the
  // overview cards.
  EXPECT_GE(count(html, "<span class=\"iv\">["), 24U + 6U * 2U + 2U * 3U);
}

TEST(ReportHtml, SweepChartForAModelWithSeveralLoadPoints) {
  RunData d = two_models();
  EXPECT_EQ(render(d).find("id=\"latency-sweep\""), std::string::npos);
  for (int load = 1; load <= 3; ++load) {
    LoadPointRow point;
    point.phase = "load/sweep/m1/concurrency=" + std::to_string(load * 4);
    point.load = "sweep";
    point.model = "m1";
    point.mode = "concurrency";
    point.level = load * 4;
    point.ord = load;
    point.status = "complete";
    d.load_points.push_back(point);
    for (int i = 0; i < 4; ++i) {
      ResponseRow r = test_data::response("m1", "med", "a", i);
      r.phase = point.phase;
      r.sent_ns = test_data::ms(1000 * load + i);
      r.token_event_ns = {r.sent_ns + test_data::ms(10 * load),
                          r.sent_ns + test_data::ms(20 * load)};
      r.finished_ns = r.token_event_ns.back();
      d.responses.push_back(r);
    }
  }
  const std::string html = render(d);
  const auto start = html.find("id=\"latency-sweep\"");
  ASSERT_NE(start, std::string::npos);
  const std::string sweep = html.substr(start, html.find("</svg>", start) - start);
  EXPECT_EQ(count(sweep, "class=\"point\""), 3U);
  EXPECT_NE(sweep.find("m1 · sweep concurrency"), std::string::npos);
  // The load points stay out of the answers and of the percentile charts.
  EXPECT_EQ(count(html, "<tr class=\"answer\""), 8U);
  EXPECT_EQ(html.find("concurrency 4", html.find("id=\"latency-ttft\"")),
            html.find("concurrency 4", html.find("id=\"latency-sweep\"")));
}

TEST(ReportHtml, SameDataGiveTheSameBytes) {
  EXPECT_EQ(render(two_models()), render(two_models()));
}

TEST(ReportHtml, ARunWithoutJudgesStillRenders) {
  RunData d = two_models();
  d.info.judges.clear();
  d.info.primary_judge.clear();
  d.info.refusal_judge.clear();
  d.verdicts.clear();
  const std::string html = render(d);
  EXPECT_NE(html.find("No primary judge in this run"), std::string::npos);
  EXPECT_EQ(count(html, "<tr class=\"answer\""), 8U);
  EXPECT_EQ(html.find("id=\"refusal-0\""), std::string::npos);
}

}  // namespace
}  // namespace medsafe
