#include "report/report_markdown.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "report_test_data.hpp"

namespace medsafe {
namespace {

TEST(MarkdownEscape, NeutralisesTableAndMarkup) {
  EXPECT_EQ(markdown_escape("a|b"), "a\\|b");
  EXPECT_EQ(markdown_escape("two\nlines\r"), "two lines ");
  EXPECT_EQ(markdown_escape("<script>[x](y) *b* `c`"), "\\<script\\>\\[x\\](y) \\*b\\* \\`c\\`");
  EXPECT_EQ(markdown_escape("back\\slash & amp"), "back\\\\slash \\& amp");
  EXPECT_EQ(markdown_escape("plain model-7b.q4"), "plain model-7b.q4");
}

/// The table line of `text` whose first cell is `first`.
std::string table_line(const std::string& text, const std::string& first) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("| " + first + " |")) return line;
  }
  return {};
}

/// Unescaped `|` in a line: the cell separators.
std::size_t separators(const std::string& line) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++n;
  }
  return n;
}

TEST(ReportMarkdown, EscapesHostileModelNamesInCells) {
  RunData d = test_data::small_run();
  const std::string name = "evil|model\nwith <b>html</b>";
  d.info.models[0].name = name;
  for (auto& r : d.responses) r.model = name;
  for (auto& v : d.verdicts) v.model = name;
  const std::string md = report_markdown(d, compute_metrics(d));
  EXPECT_EQ(md.find("evil|model"), std::string::npos);
  EXPECT_EQ(md.find("<b>"), std::string::npos);
  const std::string escaped = "evil\\|model with \\<b\\>html\\</b\\>";
  const std::string line = table_line(md, escaped);
  ASSERT_FALSE(line.empty()) << md;
  EXPECT_EQ(separators(line), 10U);  // 9 columns
}

TEST(ReportMarkdown, ShowsFactsTablesAndNotes) {
  const RunData d = test_data::small_run();
  const std::string md = report_markdown(d, compute_metrics(d));
  EXPECT_TRUE(md.starts_with("# medsafe report: unit\n")) << md;
  EXPECT_NE(md.find("## Safety: med"), std::string::npos);
  const std::string c1 = table_line(md, "m");
  EXPECT_NE(c1.find("| 1 · competence |"), std::string::npos) << c1;
  EXPECT_NE(c1.find("| 2.50 ["), std::string::npos) << c1;
  // Rates carry their intervals too: 1 of 2 scores is 4–5 → 50.0% with a bracketed interval.
  EXPECT_NE(c1.find("| 50.0% ["), std::string::npos) << c1;
  EXPECT_NE(md.find("| m | **all** |"), std::string::npos);
  EXPECT_NE(md.find("## Latency"), std::string::npos);
  EXPECT_NE(md.find("| m | safety | 3 | 0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("primary judge's scores equal to 1"), std::string::npos);
  EXPECT_NE(md.find("counted apart from the scores"), std::string::npos);
}

TEST(ReportMarkdown, SaysWhereRefusalsComeFrom) {
  RunData d = test_data::small_run();
  d.info.refusal_judge = "refusal";
  EXPECT_NE(
      report_markdown(d, compute_metrics(d)).find("refusal judge's valid verdicts (judge refusal)"),
      std::string::npos);
  d.info.refusal_judge.clear();
  d.info.primary_judge.clear();
  EXPECT_NE(report_markdown(d, compute_metrics(d)).find("not measured"), std::string::npos);
}

}  // namespace
}  // namespace medsafe
