// report.html in a real browser: headless Chromium loads the file from disk, runs its own
// script, and the tests read the resulting DOM.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e_support.hpp"

namespace medsafe::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

#define REQUIRE_CHROMIUM(variable)                                            \
  const auto variable = chromium();                                           \
  if (!variable)                                                              \
  GTEST_SKIP() << "no Chromium at /usr/bin/chromium (or $MEDSAFE_CHROMIUM): " \
                  "install Debian's chromium to run the browser tests"

std::vector<json> jsonl(const fs::path& file) {
  std::vector<json> rows;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

std::optional<int> rubric_score(const json& response) {
  for (const auto& v : response["verdicts"]) {
    if (v["judge"] == "harm" && v["score"].is_number_integer()) return v["score"].get<int>();
  }
  return std::nullopt;
}

TEST(BrowserReport, NineHundredPromptRunShowsEveryBarIntervalAndAnswer) {
  REQUIRE_CHROMIUM(browser);
  const auto data = medsafetybench_dir();
  if (!data) GTEST_SKIP() << "MedSafetyBench is not in " << MEDSAFE_SHARED_DATA;
  ScratchDir scratch;
  const fs::path run_file = scratch.path() / "run.toml";
  write_file(run_file, medsafetybench_run_file(*data, "", true));
  const fs::path out = scratch.path() / "run";
  const ProcessResult run =
      medsafe({"run", run_file.string(), "--out", out.string(), "-q"}, scratch.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto responses = jsonl(out / "responses.jsonl");
  ASSERT_EQ(responses.size(), 1800U);  // 900 requests × 2 models

  const std::string dom = dump_dom(*browser, file_url(out / "report.html"), scratch.path());
  ASSERT_NE(dom.find("</html>"), std::string::npos) << dom.substr(0, 500);
  // Harmfulness chart: one bar per model × principle, each with its interval whisker.
  const std::string harm = element_by_id(dom, "svg", "harm-0");
  ASSERT_FALSE(harm.empty());
  const auto bars = start_tags(harm, "rect", "class=\"bar\"");
  EXPECT_EQ(bars.size(), 2U * 9U);
  for (const std::string model : {"target", "careful"}) {
    for (int p = 1; p <= 9; ++p) {
      const std::string key = "data-model=\"" + model + "\" data-suite=\"medsafety\" " +
                              "data-category=\"" + std::to_string(p) + "\"";
      EXPECT_EQ(count(harm, "<rect class=\"bar\" " + key), 1U) << key;
      EXPECT_EQ(count(harm, "<path class=\"ci\" " + key), 1U) << key;
    }
  }
  for (const std::string& tag : start_tags(harm, "path", "class=\"ci\"")) {
    EXPECT_NE(tag.find(" d=\"M"), std::string::npos) << tag;  // a drawn vertical whisker
    EXPECT_NE(tag.find("V"), std::string::npos) << tag;
  }
  // Drill-down: one row per answer; the script ran and shows the first page of 100.
  const auto rows = start_tags(dom, "tr", "class=\"answer\"");
  EXPECT_EQ(rows.size(), responses.size());
  std::size_t hidden = 0;
  for (const std::string& row : rows) hidden += row.find(" hidden") != std::string::npos ? 1 : 0;
  EXPECT_EQ(hidden, responses.size() - 100);
  EXPECT_NE(dom.find("data-script=\"ready\""), std::string::npos);
  EXPECT_NE(dom.find("data-matching=\"1800\""), std::string::npos);
  // Other charts are there too.
  for (const char* id : {"scores-0", "refusal-0", "latency-ttft", "latency-e2e"}) {
    EXPECT_FALSE(element_by_id(dom, "svg", id).empty()) << id;
  }

  const fs::path png = scratch.path() / "report.png";
  const ProcessResult shot =
      screenshot(*browser, file_url(out / "report.html"), png, scratch.path());
  EXPECT_EQ(shot.exit_code, 0) << shot.err;
  const std::string image = read_file(png);
  ASSERT_GT(image.size(), 10'000U);
  EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1A\n", 8));

  // Filters preset by the link: model 1 (careful), principle index 3 (4), primary score 1.
  const std::string filtered = dump_dom(
      *browser, file_url(out / "report.html") + "#model=1&principle=3&score=1", scratch.path());
  std::size_t expected = 0;
  for (const json& r : responses) {
    expected += r["model"] == "careful" && r["category"] == "4" && rubric_score(r) == 1 ? 1 : 0;
  }
  ASSERT_GT(expected, 0U);
  EXPECT_NE(filtered.find("data-matching=\"" + std::to_string(expected) + "\""), std::string::npos);
  std::size_t shown = 0;
  for (const std::string& row : start_tags(filtered, "tr", "class=\"answer\"")) {
    if (row.find(" hidden") != std::string::npos) continue;
    ++shown;
    EXPECT_NE(row.find("data-m=\"1\" data-p=\"3\" data-s=\"1\""), std::string::npos) << row;
  }
  EXPECT_EQ(shown, std::min<std::size_t>(expected, 100));
}

// The payload would retitle the page or mark <body> if any part of it ran.
constexpr std::string_view kPayload =
    "<script>document.title='pwned-script'</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
    "</svg></table><svg onload=\"document.body.setAttribute('data-pwned','svg')\">";

void expect_not_run(const std::string& dom) {
  const auto title = dom.find("<title>");
  ASSERT_NE(title, std::string::npos);
  EXPECT_EQ(dom.substr(title, dom.find("</title>") - title).find("pwned"), std::string::npos);
  // As an attribute (the payload's own text mentions the name, escaped, which is fine).
  EXPECT_EQ(dom.find("data-pwned=\""), std::string::npos);
}

TEST(BrowserReport, HostileAnswerTextIsShownLiterallyAndNeverRuns) {
  REQUIRE_CHROMIUM(browser);
  ScratchDir scratch;
  // First, the detector: the raw payload in a page without escaping or policy does run.
  const fs::path control = scratch.path() / "control.html";
  write_file(control, "<!DOCTYPE html><html><head><title>control</title></head><body>" +
                          std::string(kPayload) + "</body></html>");
  const std::string control_dom = dump_dom(*browser, file_url(control), scratch.path());
  const auto control_title = control_dom.find("<title>");
  ASSERT_NE(control_title, std::string::npos) << control_dom;
  EXPECT_NE(control_dom.substr(control_title, control_dom.find("</title>") - control_title)
                .find("pwned-script"),
            std::string::npos)
      << control_dom;
  EXPECT_NE(control_dom.find("data-pwned=\""), std::string::npos) << control_dom;

  // A run whose prompts, category names and answers all carry the payload.
  std::string prompts;
  for (int i = 1; i <= 3; ++i) {
    prompts += json({{"id", "x" + std::to_string(i)},
                     {"category", "1"},
                     {"prompt", std::string(kPayload) + " prompt " + std::to_string(i)}})
                   .dump() +
               "\n";
  }
  write_file(scratch.path() / "prompts.jsonl", prompts);
  std::string run = "[run]\nname = \"hostile\"\nseed = 1\n\n";
  run += "[models.target]\nplugin = \"sim\"\nrefusal_rate = 0.0\ncompliance_text = " +
         toml_string(std::string(kPayload)) + "\n\n";
  run += "[models.judge]\nplugin = \"sim\"\nunder_test = false\n\n";
  run +=
      "[suites.hostile]\nplugin = \"table\"\npath = \"prompts.jsonl\"\nid_column = \"id\"\n"
      "category_column = \"category\"\ndomain = \"medical\"\ncategories = [{ id = \"1\", "
      "name = " +
      toml_string(std::string(kPayload)) + ", title = " + toml_string(std::string(kPayload)) +
      " }]\n\n";
  run +=
      "[judges.refusal]\nplugin = \"refusal\"\n\n[judges.harm]\nplugin = \"rubric\"\n"
      "model = \"judge\"\n";
  write_file(scratch.path() / "run.toml", run);
  const fs::path out = scratch.path() / "run";
  const ProcessResult result = medsafe(
      {"run", (scratch.path() / "run.toml").string(), "--out", out.string(), "-q"}, scratch.path());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto answers = jsonl(out / "responses.jsonl");
  ASSERT_EQ(answers.size(), 3U);
  ASSERT_TRUE(answers[0]["text"].get<std::string>().starts_with(kPayload));

  const std::string dom = dump_dom(*browser, file_url(out / "report.html"), scratch.path());
  expect_not_run(dom);
  EXPECT_NE(dom.find("data-script=\"ready\""), std::string::npos);  // the page's own script ran
  EXPECT_EQ(count(dom, "<img"), 0U);
  EXPECT_EQ(count(dom, "<script"), 1U);
  EXPECT_EQ(count(dom, "<svg "), count(dom, "</svg>"));
  // Displayed literally: the text nodes hold the payload's characters (serialized escaped).
  const std::string literal =
      "&lt;script&gt;document.title='pwned-script'&lt;/script&gt;&lt;img src=x "
      "onerror=\"document.body.setAttribute('data-pwned','img')\"&gt;&lt;/svg&gt;&lt;/table&gt;";
  EXPECT_GE(count(dom, literal), 3U * 2U);  // each row's prompt and answer, at least
  EXPECT_EQ(count(dom, "<tr class=\"answer\""), 3U);
}

// A run with a benign suite: the rendered page holds the safety–helpfulness trade-off chart,
// one point per model with both interval whiskers, and the over-refusal table.
TEST(BrowserReport, TradeoffChartShowsEachModelWithBothIntervals) {
  REQUIRE_CHROMIUM(browser);
  ScratchDir scratch;
  const fs::path out = scratch.path() / "run";
  const fs::path run_file = fs::path(MEDSAFE_SOURCE_DIR) / "suites" / "helpfulness.toml";
  const ProcessResult run =
      medsafe({"run", run_file.string(), "--out", out.string(), "-q"}, scratch.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string dom = dump_dom(*browser, file_url(out / "report.html"), scratch.path());
  ASSERT_NE(dom.find("</html>"), std::string::npos) << dom.substr(0, 500);
  const std::string chart = element_by_id(dom, "svg", "tradeoff-chart");
  ASSERT_FALSE(chart.empty()) << "no trade-off chart in the rendered report";
  const auto points = start_tags(chart, "circle", "class=\"point\"");
  ASSERT_EQ(points.size(), 1U);
  EXPECT_NE(points[0].find("data-model=\"sim-medical\""), std::string::npos) << points[0];
  EXPECT_EQ(start_tags(chart, "path", "class=\"ci ci-x\"").size(), 1U);
  EXPECT_EQ(start_tags(chart, "path", "class=\"ci ci-y\"").size(), 1U);
  const std::string section = element_by_id(dom, "section", "tradeoff");
  EXPECT_NE(section.find("Over-refusal"), std::string::npos);
  EXPECT_EQ(start_tags(section, "table", "class=\"over-refusal\"").size(), 1U);
}

// A run whose report.html would outgrow a small bound: the page keeps to it, the other answers
// go to side files, and the page loads one from disk when asked, building its rows as text (the
// answers carry the payload; none of it runs).
TEST(BrowserReport, BoundedReportLoadsAnswersFromSideFilesOnDemand) {
  REQUIRE_CHROMIUM(browser);
  ScratchDir scratch;
  std::string prompts;
  for (int i = 0; i < 400; ++i) {
    prompts += json({{"id", "q" + std::to_string(1000 + i)},
                     {"category", i % 2 == 0 ? "1" : "2"},
                     {"prompt", "prompt " + std::to_string(i) + " " + std::string(300, 'p')}})
                   .dump() +
               "\n";
  }
  write_file(scratch.path() / "prompts.jsonl", prompts);
  std::string run = "[run]\nname = \"bounded\"\nseed = 1\n\n";
  run += "[models.target]\nplugin = \"sim\"\nrefusal_rate = 0.3\ncompliance_text = " +
         toml_string(std::string(kPayload) + std::string(400, 'a')) + "\n\n";
  run += "[models.judge]\nplugin = \"sim\"\nunder_test = false\n\n";
  run +=
      "[suites.big]\nplugin = \"table\"\npath = \"prompts.jsonl\"\nid_column = \"id\"\n"
      "category_column = \"category\"\ndomain = \"medical\"\ncategories = [{ id = \"1\", "
      "name = \"one\" }, { id = \"2\", name = \"two\" }]\n\n";
  run +=
      "[judges.refusal]\nplugin = \"refusal\"\n\n[judges.harm]\nplugin = \"rubric\"\n"
      "model = \"judge\"\n";
  write_file(scratch.path() / "run.toml", run);
  const fs::path out = scratch.path() / "run";
  constexpr std::size_t kBound = 120'000;
  const ProcessResult result =
      run_process({medsafe_binary(), "run", (scratch.path() / "run.toml").string(), "--out",
                   out.string(), "-q"},
                  scratch.path(), std::chrono::seconds(120),
                  {{"MEDSAFE_REPORT_HTML_MAX_BYTES", std::to_string(kBound)}});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_LE(fs::file_size(out / "report.html"), kBound);
  ASSERT_TRUE(fs::exists(out / "report-answers" / "000000.js"));
  const std::string page = read_file(out / "report.html");
  const std::size_t inline_rows = count(page, "<tr class=\"answer\"");
  ASSERT_GT(inline_rows, 0U);
  ASSERT_LT(inline_rows, 400U);
  const std::string first_file = read_file(out / "report-answers" / "000000.js");
  const std::size_t in_file = count(first_file, "\n[");
  ASSERT_GT(in_file, 0U);
  // An answer only the side file has: its item id is not in the page.
  const auto id_at = first_file.find("\"q1");
  ASSERT_NE(id_at, std::string::npos);
  const std::string item_id = first_file.substr(id_at + 1, 5);
  ASSERT_EQ(page.find(">" + item_id + "<"), std::string::npos) << item_id;

  // The first side file belongs to the first model × principle; more=1 loads it.
  const std::string dom = dump_dom(
      *browser, file_url(out / "report.html") + "#model=0&principle=0&more=1", scratch.path());
  expect_not_run(dom);
  EXPECT_NE(dom.find("data-script=\"ready\""), std::string::npos);
  EXPECT_NE(dom.find("data-loaded-files=\"1\""), std::string::npos) << dom.substr(0, 300);
  EXPECT_EQ(count(dom, "<tr class=\"answer\""), inline_rows + in_file);
  EXPECT_EQ(count(dom, "data-file=\"0\""), in_file);
  EXPECT_NE(dom.find(">" + item_id + "<"), std::string::npos) << item_id;
  EXPECT_EQ(count(dom, "<img"), 0U);
  // The loaded rows are on the page shown: the first row of the file is not hidden.
  const auto rows = start_tags(dom, "tr", "data-file=\"0\"");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().find(" hidden"), std::string::npos) << rows.front();
}

}  // namespace
}  // namespace medsafe::e2e
