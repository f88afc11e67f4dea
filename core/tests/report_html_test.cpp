#include "report/report_html.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/report_html_common.hpp"
#include "report_test_data.hpp"
#include "resource_file.hpp"

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

using test_data::resource_file;

// The build embeds resources/report.js and report.css byte for byte (cmake/embed_resources.cmake):
// their first empty line, the non-ASCII "×" of the script, the final newline.
TEST(ReportHtml, ScriptAndStyleAreTheResourceFilesBytes) {
  const std::string js = resource_file("report.js");
  const std::string css = resource_file("report.css");
  ASSERT_GT(js.size(), 1000U);
  ASSERT_GT(css.size(), 500U);
  EXPECT_EQ(std::string(report_html_script()), js);
  const std::string html = render(two_models());
  EXPECT_NE(html.find("<script>" + js + "</script>\n"), std::string::npos);
  EXPECT_NE(html.find(css + "</style>\n"), std::string::npos);
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

// 2 models × 2 principles × 300 items, each answer ~1 KB: about 1.2 MB of rows unbounded.
RunData big_run() {
  using namespace test_data;
  RunData d;
  d.info = basic_info();
  d.info.models = {{"m1", "sim", true}, {"m2", "sim", true}};
  for (int i = 0; i < 600; ++i)
    d.items.push_back(item("med", "i" + std::to_string(i), i % 2 ? "2" : "1"));
  for (const char* model : {"m1", "m2"}) {
    for (int i = 0; i < 600; ++i) {
      d.responses.push_back(response(model, "med", "i" + std::to_string(i)));
      d.responses.back().text = std::string(1000, 'x') + " answer " + std::to_string(i);
      d.verdicts.push_back(score("rubric", d.responses.back(), i % 5 + 1));
    }
  }
  return d;
}

TEST(ReportHtml, AnswersBeyondTheBoundGoToSideFilesWorstFirstAndThePageStaysUnder) {
  const RunData d = big_run();
  const RunMetrics metrics = compute_metrics(d);
  const std::string unbounded = report_html(d, metrics, std::size_t{1} << 30);
  ASSERT_GT(unbounded.size(), 1'000'000U);
  EXPECT_EQ(count(unbounded, "<tr class=\"answer\""), 1200U);
  EXPECT_EQ(unbounded.find("<div id=\"answer-more\">"), std::string::npos);

  constexpr std::size_t kBound = 300'000;
  std::vector<std::string> files;
  const std::string html =
      report_html(d, metrics, kBound, [&](std::size_t index, std::string_view text) {
        EXPECT_EQ(index, files.size());
        files.emplace_back(text);
      });
  EXPECT_LE(html.size(), kBound);
  const std::size_t inline_rows = count(html, "<tr class=\"answer\"");
  EXPECT_GT(inline_rows, 20U);
  EXPECT_LT(inline_rows, 1200U);
  ASSERT_FALSE(files.empty());
  std::size_t side_rows = 0;
  for (const std::string& f : files) {
    EXPECT_TRUE(f.starts_with("medsafeAnswers(")) << f.substr(0, 40);
    side_rows += count(f, "\n[");
  }
  EXPECT_EQ(inline_rows + side_rows, 1200U);  // every answer is somewhere, once
  // Each principle × model has its sample in the page, the worst (score 5) first.
  for (const char* group : {"data-m=\"0\" data-p=\"0\"", "data-m=\"0\" data-p=\"1\"",
                            "data-m=\"1\" data-p=\"0\"", "data-m=\"1\" data-p=\"1\""}) {
    const auto first = html.find(std::string("<tr class=\"answer\" ") + group);
    ASSERT_NE(first, std::string::npos) << group;
    EXPECT_EQ(html.substr(first, 60).find("data-s=\"5\""), std::string(group).size() + 20)
        << html.substr(first, 80);
  }
  // The page lists the side files and may load them: the policy allows its own files.
  EXPECT_NE(html.find("<div id=\"answer-more\">"), std::string::npos);
  EXPECT_NE(html.find("&#39;self&#39;"), std::string::npos);
  EXPECT_EQ(unbounded.find("&#39;self&#39;"), std::string::npos);
}

TEST(ReportHtml, AtMostTwoThousandAnswerRowsInThePageWhateverItsBound) {
  using namespace test_data;
  RunData d;
  d.info = basic_info();
  d.info.models = {{"m1", "sim", true}};
  for (int i = 0; i < 2300; ++i) {
    d.items.push_back(item("med", "i" + std::to_string(i), "1"));
    d.responses.push_back(response("m1", "med", "i" + std::to_string(i)));
  }
  std::size_t side_rows = 0;
  const std::string html = report_html(
      d, compute_metrics(d), std::size_t{1} << 30,
      [&](std::size_t, std::string_view text) { side_rows += count(std::string(text), "\n["); });
  EXPECT_EQ(count(html, "<tr class=\"answer\""), 2000U);
  EXPECT_EQ(side_rows, 300U);
}

TEST(ReportHtml, SideFilesCarryHostileTextAsJsonStringsWithInvisibleCharactersShown) {
  RunData d = big_run();
  d.responses.back().text =
      "</script><img src=x onerror=alert(1)>\xE2\x80\xAE"
      "evil\x01";
  std::string all;
  (void)report_html(d, compute_metrics(d), 200'000,
                    [&](std::size_t, std::string_view text) { all += text; });
  EXPECT_NE(all.find("\"</script><img src=x onerror=alert(1)>\xE2\x9F\xA6U+202E\xE2\x9F\xA7"
                     "evil\xEF\xBF\xBD\""),
            std::string::npos);
  EXPECT_EQ(all.find("\xE2\x80\xAE"), std::string::npos);
}

}  // namespace
}  // namespace medsafe
