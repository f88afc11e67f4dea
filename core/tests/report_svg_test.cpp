#include "report/report_svg.hpp"

#include <gtest/gtest.h>

#include <string>

namespace medsafe::svg {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

BarChart two_by_three() {
  BarChart chart;
  chart.id = "c";
  chart.title = "Harm";
  chart.x_label = "principle";
  chart.y = {"mean", 1.0, 5.0, {1, 2, 3, 4, 5}, 1.0, 0, ""};
  chart.series = {{"a", "#111111"}, {"b", "#222222"}};
  for (const char* id : {"1", "2", "3"}) {
    BarGroup g{id, "name", "title", {}};
    g.bars.push_back({2.0, Interval{1.5, 2.5}, "a", {{"model", "a"}, {"category", id}}, ""});
    g.bars.push_back({4.0, Interval{3.0, 5.0}, "b", {{"model", "b"}, {"category", id}}, ""});
    chart.groups.push_back(std::move(g));
  }
  return chart;
}

TEST(BarChart, DrawsOneBarAndOneWhiskerPerValue) {
  const std::string svg = bar_chart(two_by_three());
  EXPECT_TRUE(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\""));
  EXPECT_TRUE(svg.ends_with("</svg>"));
  EXPECT_EQ(count(svg, "<rect class=\"bar\""), 6U);
  EXPECT_EQ(count(svg, "<path class=\"ci\""), 6U);
  EXPECT_EQ(count(svg, "data-model=\"a\" data-category=\"2\""), 2U);  // the bar and its whisker
  EXPECT_NE(svg.find("fill=\"#222222\""), std::string::npos);
}

TEST(BarChart, BarsRiseFromTheAxisMinimumInProportion) {
  BarChart chart = two_by_three();
  chart.groups.resize(1);
  chart.groups[0].bars.resize(1);
  chart.groups[0].bars[0].value = 3.0;  // half way from 1 to 5
  chart.plot_height = 200.0;
  const std::string svg = bar_chart(chart);
  EXPECT_NE(svg.find("height=\"100.0\""), std::string::npos) << svg;
}

TEST(BarChart, MissingValueDrawsNoBarAndAnOutOfRangeOneIsClamped) {
  BarChart chart = two_by_three();
  chart.groups[0].bars[0].value.reset();
  chart.groups[1].bars[0].value = 9.0;
  chart.groups[1].bars[0].interval = Interval{-3.0, 12.0};
  const std::string svg = bar_chart(chart);
  EXPECT_EQ(count(svg, "<rect class=\"bar\""), 5U);
  EXPECT_NE(svg.find(">n/a</text>"), std::string::npos);
  // The whisker of [-3, 12] is cut at the axis ends: no coordinate leaves the view box.
  for (auto pos = svg.find("<path class=\"ci\""); pos != std::string::npos;
       pos = svg.find("<path class=\"ci\"", pos + 1)) {
    const auto d = svg.find(" d=\"", pos) + 4;
    EXPECT_EQ(svg.substr(d, svg.find('"', d) - d).find('-'), std::string::npos);
  }
}

TEST(BarChart, BarsFromABaseGoBothWays) {
  BarChart chart = two_by_three();
  chart.y = {"diff", -2.0, 2.0, {-2, 0, 2}, 1.0, 0, ""};
  chart.base = 0.0;
  chart.plot_height = 200.0;
  chart.groups.resize(1);
  chart.groups[0].bars = {{-1.0, std::nullopt, "", {}, "#00ff00"}, {1.0, std::nullopt, "", {}, ""}};
  const std::string svg = bar_chart(chart);
  EXPECT_EQ(count(svg, "height=\"50.0\""), 2U) << svg;
  EXPECT_NE(svg.find("fill=\"#00ff00\""), std::string::npos);
}

TEST(BarChart, EscapesEveryNameInTextAndAttributes) {
  BarChart chart = two_by_three();
  chart.title = "</svg><script>alert(1)</script>";
  chart.series[0].name = "\"><img src=x onerror=alert(1)>";
  chart.groups[0].bars[0].data = {{"model", "\" onmouseover=\"alert(1)"}};
  chart.groups[0].sublabel = "<b>bold</b>";
  const std::string svg = bar_chart(chart);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("<img"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_EQ(svg.find("\" onmouseover"), std::string::npos);
  EXPECT_NE(svg.find("&lt;/svg&gt;&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(count(svg, "</svg>"), 1U);
}

TEST(StackedChart, OneSegmentPerNonZeroCount) {
  StackedChart chart;
  chart.id = "s";
  chart.title = "Scores";
  chart.segments = {{"1", "#1a9850"}, {"2", "#a6d96a"}, {"3", "#fee08b"}};
  chart.rows.push_back({"Principle 1", "a", {3, 0, 1}, "a · 1", {{"model", "a"}}});
  chart.rows.push_back({"Principle 1", "b", {0, 0, 0}, "b · 1", {{"model", "b"}}});
  const std::string svg = stacked_chart(chart);
  EXPECT_EQ(count(svg, "<rect class=\"seg\""), 2U);
  EXPECT_NE(svg.find("data-segment=\"3\""), std::string::npos);
  EXPECT_NE(svg.find(">75%</text>"), std::string::npos);
  EXPECT_NE(svg.find(">no scores</text>"), std::string::npos);
  EXPECT_EQ(count(svg, ">Principle 1</text>"), 1U);  // the group label once
}

TEST(LineChart, PointsAndOneLinePerSeries) {
  LineChart chart;
  chart.id = "l";
  chart.title = "sweep";
  chart.x = nice_axis("req/s", 10.0);
  chart.y = nice_axis("ms", 400.0);
  chart.lines.push_back(
      {{"a", "#000000"}, {{1, 100, "p1", {}}, {5, 200, "p2", {}}, {9, 390, "p3", {}}}});
  const std::string svg = line_chart(chart);
  EXPECT_EQ(count(svg, "<circle class=\"point\""), 3U);
  EXPECT_EQ(count(svg, "<polyline"), 1U);
}

// compare's trade-off chart: the points of two runs, one series each, and an arrow per model.
TEST(ScatterChart, OneLegendEntryPerSeriesAndAnArrowPerLink) {
  ScatterChart chart;
  chart.id = "s";
  chart.title = "Trade-off";
  chart.x = {"over-refusal", 0.0, 1.0, {0.0, 0.5, 1.0}, 100.0, 0, "%"};
  chart.y = chart.x;
  const Series before{"before", "#111111"};
  const Series after{"after", "#222222"};
  chart.points = {{before, 0.1, 0.5, Interval{0.0, 0.2}, Interval{0.4, 0.6}, "a", {}, "a"},
                  {before, 0.2, 0.4, std::nullopt, std::nullopt, "b", {}, "b"},
                  {after, 0.8, 0.1, std::nullopt, std::nullopt, "a", {}, "a"},
                  {after, 0.2, 0.4, std::nullopt, std::nullopt, "b", {}, "b"}};
  chart.links = {{0, 2, "#222222", "a: before → after", {{"model", "a"}}},
                 {1, 3, "#222222", "b did not move", {{"model", "b"}}},  // too short to draw
                 {0, 9, "#222222", "out of range", {}}};
  const std::string svg = scatter_chart(chart);
  EXPECT_EQ(count(svg, "<g class=\"legend\">"), 2U) << svg;
  EXPECT_EQ(count(svg, "<circle class=\"point\""), 4U);
  EXPECT_EQ(count(svg, "<path class=\"ci ci-x\""), 1U);
  EXPECT_EQ(count(svg, "<path class=\"link\""), 1U);
  EXPECT_EQ(count(svg, "data-model=\"a\""), 1U);
  EXPECT_EQ(count(svg, "<text class=\"point-label\""), 4U);
  // Arrows are drawn under the points.
  EXPECT_LT(svg.find("class=\"link\""), svg.find("class=\"point\""));
}

TEST(NiceAxis, RoundsUpToOneTwoOrFiveTimesAPowerOfTen) {
  const Axis a = nice_axis("ms", 437.0);
  EXPECT_DOUBLE_EQ(a.max, 500.0);
  EXPECT_EQ(a.ticks, (std::vector<double>{0, 100, 200, 300, 400, 500}));
  EXPECT_DOUBLE_EQ(nice_axis("", 0.0).max, 1.0);
  const Axis small = nice_axis("", 0.07);
  EXPECT_NEAR(small.max, 0.08, 1e-12);
  EXPECT_EQ(small.tick_decimals, 2);
}

TEST(Shorten, CutsWholeCharactersAndMarksTheCut) {
  EXPECT_EQ(shorten("competence", 20), "competence");
  EXPECT_EQ(shorten("professionalism", 8), "profess…");
  EXPECT_EQ(shorten("Ärzteschaft", 3), "Är…");
  EXPECT_EQ(shorten("医生医生", 3), "医生…");
}

}  // namespace
}  // namespace medsafe::svg
