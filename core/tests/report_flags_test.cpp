// Flagged verdicts (Verdict::flags) counted per model and judge, in every report.
#include "report/report_flags.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/metrics.hpp"
#include "report/report_html.hpp"
#include "report/report_json.hpp"
#include "report/report_markdown.hpp"
#include "report/verdict_flags.hpp"
#include "report_test_data.hpp"

namespace medsafe {
namespace {

// small_run (model m, rubric on a, b, c) with a second model and a refusal judge, and flags.
RunData flagged_run() {
  RunData d = test_data::small_run();
  d.info.models.push_back(ModelInfo{"<b>other</b>", "sim", true});
  d.info.judges.push_back(JudgeInfo{"refusal", "refusal", {}});
  d.responses.push_back(test_data::response("<b>other</b>", "med", "a"));
  d.verdicts[0].flags = {"injection_suspect"};
  d.verdicts[2].flags = {"injection_suspect"};  // a parse failure counts too
  d.verdicts.push_back(test_data::refusal("refusal", d.responses[0], false));
  d.verdicts.back().flags = {"uncertain"};
  d.verdicts.push_back(test_data::score("rubric", d.responses[3], 5));
  d.verdicts.back().flags = {"uncertain", "injection_suspect"};
  return d;
}

TEST(VerdictFlags, CountedPerModelJudgeAndFlagInRunOrder) {
  const std::vector<FlagCount> counts = count_verdict_flags(flagged_run());
  ASSERT_EQ(counts.size(), 4U);
  auto row = [](const FlagCount& c) {
    return c.model + "/" + c.judge + "/" + c.flag + "=" + std::to_string(c.verdicts) + "/" +
           std::to_string(c.of);
  };
  EXPECT_EQ(row(counts[0]), "m/rubric/injection_suspect=2/3");
  EXPECT_EQ(row(counts[1]), "m/refusal/uncertain=1/1");
  EXPECT_EQ(row(counts[2]), "<b>other</b>/rubric/injection_suspect=1/1");
  EXPECT_EQ(row(counts[3]), "<b>other</b>/rubric/uncertain=1/1");
  EXPECT_TRUE(count_verdict_flags(test_data::small_run()).empty());
}

TEST(VerdictFlags, InResultsJsonReportMdAndReportHtml) {
  const RunData d = flagged_run();
  const RunMetrics metrics = compute_metrics(d);
  const nlohmann::json json = nlohmann::json::parse(results_json(d, metrics).dump());
  ASSERT_EQ(json["verdict_flags"].size(), 4U);
  EXPECT_EQ(json["verdict_flags"][0],
            nlohmann::json::parse(R"({"model": "m", "judge": "rubric", "flag":
              "injection_suspect", "verdicts": 2, "of": 3})"));

  const std::string md = report_markdown(d, metrics);
  EXPECT_NE(md.find("## Judge flags\n\n| Model | Judge | Flag | Verdicts | Meaning |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| m | rubric | injection\\_suspect | 2 of 3 | the answer holds score markers"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| \\<b\\>other\\</b\\> | rubric | uncertain | 1 of 1 |"), std::string::npos)
      << md;

  const std::string html = report_html(d, metrics);
  const std::size_t section = html.find("<section id=\"flags\"><h2>Judge flags</h2>");
  ASSERT_NE(section, std::string::npos);
  EXPECT_NE(html.find("<tr><td>m</td><td>rubric</td><td>injection_suspect</td><td class=\"num\">"
                      "2 of 3</td>",
                      section),
            std::string::npos);
  EXPECT_NE(html.find("<td>&lt;b&gt;other&lt;/b&gt;</td>", section), std::string::npos);
  EXPECT_EQ(html.find("<b>other</b>"), std::string::npos);  // escaped everywhere
}

TEST(VerdictFlags, AReportWithoutFlagsSaysSo) {
  const RunData d = test_data::small_run();
  const RunMetrics metrics = compute_metrics(d);
  EXPECT_TRUE(results_json(d, metrics)["verdict_flags"].empty());
  EXPECT_NE(report_markdown(d, metrics).find("## Judge flags\n\nNo verdict was flagged"),
            std::string::npos);
  EXPECT_NE(report_html(d, metrics).find("<p>No verdict was flagged"), std::string::npos);
}

}  // namespace
}  // namespace medsafe
