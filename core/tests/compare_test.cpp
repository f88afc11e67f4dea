#include "report/compare.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "report/compare_report.hpp"
#include "report_test_data.hpp"
#include "resource_file.hpp"

namespace medsafe {
namespace {

using ScoreOf = std::function<int(const std::string& category, int index)>;

using test_data::resource_file;

// Model `model` answers 20 items in each of categories 1 and 2; the rubric judge scores them.
RunData run_with(const std::string& model, const ScoreOf& score_of) {
  using namespace test_data;
  RunData d;
  d.info = basic_info();
  d.info.models = {{model, "sim", true}, {"judge-model", "sim", false}};
  for (const std::string category : {"1", "2"}) {
    for (int i = 0; i < 20; ++i) {
      const std::string id = category + "-" + std::to_string(i);
      d.items.push_back(item("med", id, category));
      d.responses.push_back(response(model, "med", id));
      d.verdicts.push_back(score("rubric", d.responses.back(), score_of(category, i)));
    }
  }
  return d;
}

int baseline_score(const std::string& /*category*/, int i) { return i % 4 == 0 ? 5 : 1; }

// Category 2 complies far more often: 15 of its 20 answers move from 1 to 5.
int worse_on_2(const std::string& category, int i) {
  if (category == "2" && i % 4 != 0 && i < 20) return i < 19 ? 5 : 1;
  return baseline_score(category, i);
}

const PairedRow& row_of(const PairedComparison& p, std::string_view category) {
  for (const PairedRow& row : p.rows) {
    if (row.category == category) return row;
  }
  throw std::runtime_error("no row " + std::string(category));
}

TEST(SignFlip, ExactForFewNonzeroDifferences) {
  EXPECT_DOUBLE_EQ(sign_flip_p_value({1, 1, 1}, 1, 100), 0.25);  // only ±(1+1+1) reach 3
  EXPECT_DOUBLE_EQ(sign_flip_p_value({2, -1, 0, 0}, 1, 100), 1.0);
  EXPECT_DOUBLE_EQ(sign_flip_p_value({0, 0, 0}, 1, 100), 1.0);
  EXPECT_DOUBLE_EQ(sign_flip_p_value({}, 1, 100), 1.0);
  EXPECT_DOUBLE_EQ(sign_flip_p_value({4, 4, 4, 4, 4, 4}, 1, 100), 2.0 / 64.0);
}

TEST(SignFlip, MonteCarloIsSeededAndCloseToExact) {
  std::vector<std::int64_t> d;
  for (int i = 0; i < 20; ++i) d.push_back(i % 3 == 0 ? -1 : (i % 5 == 0 ? 2 : 1));
  const double exact = sign_flip_p_value(d, 7, 0, 20);
  const double estimate = sign_flip_p_value(d, 7, 20000, 16);
  EXPECT_NEAR(estimate, exact, 0.02);
  EXPECT_EQ(estimate, sign_flip_p_value(d, 7, 20000, 16));
  // Never below 1 / (1 + draws), even when no draw reaches the observed sum.
  const std::vector<std::int64_t> extreme(40, 4);
  EXPECT_DOUBLE_EQ(sign_flip_p_value(extreme, 3, 999), 1.0 / 1000.0);
}

TEST(Holm, StepDownAdjustment) {
  const auto adjusted = holm_adjust({0.01, 0.04, 0.03, 0.005});
  ASSERT_EQ(adjusted.size(), 4U);
  EXPECT_DOUBLE_EQ(adjusted[0], 0.03);
  EXPECT_DOUBLE_EQ(adjusted[1], 0.06);
  EXPECT_DOUBLE_EQ(adjusted[2], 0.06);
  EXPECT_DOUBLE_EQ(adjusted[3], 0.02);
  EXPECT_DOUBLE_EQ(holm_adjust({0.6, 0.9})[1], 1.0);  // capped at 1
  EXPECT_TRUE(holm_adjust({}).empty());
}

TEST(CompareRuns, FlagsOnlyThePrincipleThatGotWorse) {
  const Comparison c = compare_runs(
      {{"before", run_with("m", baseline_score)}, {"after", run_with("m", worse_on_2)}}, {});
  ASSERT_EQ(c.paired.size(), 1U);
  const PairedComparison& p = c.paired[0];
  EXPECT_EQ(p.model_a, "m");
  EXPECT_FALSE(p.renamed);
  ASSERT_EQ(p.rows.size(), 3U);  // 1, 2, all
  const PairedRow& one = row_of(p, "1");
  EXPECT_EQ(one.pairs, 20);
  EXPECT_EQ(one.change, Change::no_change);
  EXPECT_DOUBLE_EQ(*one.difference.value, 0.0);
  EXPECT_DOUBLE_EQ(*one.p_value, 1.0);
  const PairedRow& two = row_of(p, "2");
  EXPECT_EQ(two.change, Change::worse);
  EXPECT_EQ(two.increased, 14);
  EXPECT_EQ(two.decreased, 0);
  EXPECT_DOUBLE_EQ(*two.difference.value, 14.0 * 4.0 / 20.0);
  EXPECT_GT(two.difference.ci->low, 0.0);
  EXPECT_LE(*two.p_value, *two.p_holm);
  EXPECT_EQ(row_of(p, "all").pairs, 40);
  EXPECT_TRUE(any_worse(c, {}));
  EXPECT_TRUE(any_worse(c, {"2"}));
  EXPECT_FALSE(any_worse(c, {"1"}));
  // Side by side: each run's own table, rows by model × suite × category.
  ASSERT_EQ(c.side_by_side.size(), 3U);
  ASSERT_TRUE(c.side_by_side[1].cells[1]);
  EXPECT_DOUBLE_EQ(*c.side_by_side[1].cells[1]->harm_mean.value, (5 * 19 + 1) / 20.0);
}

TEST(CompareRuns, ReversedRunsAreBetterNotWorse) {
  const Comparison c = compare_runs(
      {{"after", run_with("m", worse_on_2)}, {"before", run_with("m", baseline_score)}}, {});
  EXPECT_EQ(row_of(c.paired[0], "2").change, Change::better);
  EXPECT_FALSE(any_worse(c, {}));
}

TEST(CompareRuns, PairsTheOnlyModelsEvenWhenRenamedAndSaysSo) {
  const Comparison c = compare_runs(
      {{"a", run_with("old", baseline_score)}, {"b", run_with("new", worse_on_2)}}, {});
  ASSERT_EQ(c.paired.size(), 1U);
  EXPECT_TRUE(c.paired[0].renamed);
  EXPECT_EQ(c.paired[0].model_b, "new");
  ASSERT_FALSE(c.notes.empty());
  EXPECT_NE(c.notes[0].find("names differ"), std::string::npos);
  EXPECT_EQ(c.side_by_side.size(), 3U);  // aligned under the baseline's name
}

TEST(CompareRuns, NoPairingBetweenDifferentModelSets) {
  RunData a = run_with("x", baseline_score);
  RunData b = run_with("y", baseline_score);
  a.info.models.push_back({"x2", "sim", true});
  const Comparison c = compare_runs({{"a", a}, {"b", b}}, {});
  EXPECT_TRUE(c.paired.empty());
  ASSERT_FALSE(c.notes.empty());
  EXPECT_FALSE(any_worse(c, {}));
}

TEST(CompareRuns, AnswersWithoutAScoredPartnerAreLeftOutAndCounted) {
  RunData later = run_with("m", baseline_score);
  later.responses.erase(later.responses.begin());           // item 1-0 never answered
  later.verdicts[1].status = VerdictStatus::parse_failure;  // 1-1 answered, not scored
  later.verdicts[1].score.reset();
  const Comparison c = compare_runs({{"a", run_with("m", baseline_score)}, {"b", later}}, {});
  const PairedRow& one = row_of(c.paired[0], "1");
  EXPECT_EQ(one.pairs, 18);
  EXPECT_EQ(one.unpaired, 2);
  EXPECT_EQ(row_of(c.paired[0], "all").unpaired, 2);
  EXPECT_FALSE(c.notes.empty());
}

TEST(CompareRuns, SameSeedSameNumbers) {
  const auto once = [] {
    return compare_csv(
        compare_runs({{"a", run_with("m", baseline_score)}, {"b", run_with("m", worse_on_2)}}, {}));
  };
  EXPECT_EQ(once(), once());
}

TEST(CompareReports, MarkdownCsvAndHtmlAgree) {
  const Comparison c = compare_runs(
      {{"before", run_with("m", baseline_score)}, {"<b>after</b>", run_with("m", worse_on_2)}}, {});
  const std::string md = compare_markdown(c);
  EXPECT_NE(md.find("| **worse** |"), std::string::npos) << md;
  EXPECT_NE(md.find("\\<b\\>after\\</b\\>"), std::string::npos);  // names are escaped
  EXPECT_NE(md.find("sign-flip permutation test"), std::string::npos);
  const std::string csv = compare_csv(c);
  EXPECT_TRUE(csv.starts_with("baseline,run,model_a,model_b,suite,category,"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);  // header + 1, 2, all
  EXPECT_NE(csv.find(",worse,harm,,,,\n"), std::string::npos);
  const std::string html = compare_html(c);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>after"), std::string::npos);
  EXPECT_NE(html.find("script-src &#39;none&#39;"), std::string::npos);
  EXPECT_NE(html.find("data-change=\"worse\""), std::string::npos);
}

// The compare report's style is resources/base.css then resources/compare.css, byte for byte
// (cmake/embed_resources.cmake), and still holds its own rules.
TEST(CompareReports, HtmlStyleIsTheBaseAndCompareResourceFiles) {
  const std::string base_css = resource_file("base.css");
  const std::string compare_css = resource_file("compare.css");
  ASSERT_GT(base_css.size(), 1000U);
  ASSERT_GT(compare_css.size(), 50U);
  const std::string html = compare_html(compare_runs(
      {{"before", run_with("m", baseline_score)}, {"after", run_with("m", worse_on_2)}}, {}));
  EXPECT_NE(html.find("<style>" + base_css + compare_css + "</style>\n"), std::string::npos);
  EXPECT_NE(html.find("\ntd.worse, td.better { white-space: nowrap; }\n"), std::string::npos);
  EXPECT_NE(html.find("\nsvg.chart .point-label { font-size: 11px; fill: #1b1f24; }\n"),
            std::string::npos);
}

}  // namespace
}  // namespace medsafe
