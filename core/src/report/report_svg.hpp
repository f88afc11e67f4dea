#pragma once
/// Charts as inline SVG, drawn from numbers alone: grouped bars with interval whiskers, 100%
/// stacked bars, and lines of points. Every text and attribute value is HTML-escaped, so names
/// from a run cannot break out of the chart. Output is deterministic: the same input gives the
/// same bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report/bootstrap.hpp"

namespace medsafe::svg {

/// data-* attributes of a chart element, as (name without "data-", value) pairs.
using DataAttributes = std::vector<std::pair<std::string, std::string>>;

/// A named color of a chart's legend: a model, a percentile, a score.
struct Series {
  std::string name;
  std::string color;  ///< a CSS color literal ("#0072B2")
};

/// A numeric axis: its range, its ticks and how tick values are printed.
struct Axis {
  std::string label;
  double min = 0.0;
  double max = 1.0;
  std::vector<double> ticks;
  double tick_scale = 1.0;  ///< ticks print value × tick_scale (100 for percentages)
  int tick_decimals = 0;
  std::string tick_suffix;  ///< "%", " ms"
};

/// An axis from 0 to a round number at or above `max` (1 when max ≤ 0), with 4–6 round ticks.
[[nodiscard]] Axis nice_axis(std::string label, double max);

/// One bar, with the whisker of its interval.
struct Bar {
  std::optional<double> value;       ///< none: nothing drawn but a small "n/a"
  std::optional<Interval> interval;  ///< none: no whisker
  std::string tooltip;               ///< plain text shown on hover
  DataAttributes data;               ///< copied onto the bar and onto its whisker
  std::string color;                 ///< "" = its series' color
};

/// The bars of one x position, one per series, with the label under them.
struct BarGroup {
  std::string label;     ///< first line (short: "4")
  std::string sublabel;  ///< wrapped onto up to two lines under it, cut with "…" when long
  std::string tooltip;   ///< full text of the group (a principle's title)
  std::vector<Bar> bars;
};

/// Vertical grouped bars: `<rect class="bar">` per drawn bar, `<path class="ci">` per interval,
/// bars spanning from `base` (default `y.min`) to their value, up or down.
struct BarChart {
  std::string id;  ///< the svg element's id
  std::string title;
  std::string x_label;
  Axis y;
  /// The legend; bar i of a group takes series[i]'s color unless the bar has its own.
  std::vector<Series> series;
  std::vector<BarGroup> groups;
  double plot_height = 260.0;  ///< view-box units between the axis ends
  std::optional<double> base;  ///< where bars start; a line is drawn there when set
};
[[nodiscard]] std::string bar_chart(const BarChart& chart);

/// One horizontal 100% bar split by category counts.
struct StackedRow {
  std::string group;                 ///< printed once above a run of rows with the same group
  std::string label;                 ///< the row's own label (a model)
  std::vector<std::int64_t> counts;  ///< one per segment series
  std::string tooltip;               ///< prefix of each segment's hover text
  DataAttributes data;               ///< copied onto each `<rect class="seg">`
};

/// Horizontal 100% stacked bars, one row per StackedRow, with n at the right.
struct StackedChart {
  std::string id;
  std::string title;
  std::string x_label;
  std::vector<Series> segments;
  std::vector<StackedRow> rows;
};
[[nodiscard]] std::string stacked_chart(const StackedChart& chart);

/// A point of a line.
struct Point {
  double x = 0.0;
  double y = 0.0;
  std::string tooltip;
  DataAttributes data;
};

/// A named line through its points, in the given order.
struct Line {
  Series series;
  std::vector<Point> points;
};

/// Lines of `<circle class="point">` joined by a polyline, on linear axes.
struct LineChart {
  std::string id;
  std::string title;
  Axis x;
  Axis y;
  std::vector<Line> lines;
};
[[nodiscard]] std::string line_chart(const LineChart& chart);

/// One point of a scatter chart with the whiskers of its two intervals.
struct ScatterPoint {
  Series series;  ///< its legend entry and color
  double x = 0.0;
  double y = 0.0;
  std::optional<Interval> x_interval;  ///< none: no horizontal whisker
  std::optional<Interval> y_interval;  ///< none: no vertical whisker
  std::string tooltip;
  DataAttributes data;  ///< copied onto the point and its whiskers
  std::string label{};  ///< "": none; else `<text class="point-label">` beside the point
};

/// An arrow from one point of a scatter chart to another (a model's move between two runs).
struct ScatterLink {
  std::size_t from = 0;  ///< index into ScatterChart::points
  std::size_t to = 0;
  std::string color;
  std::string tooltip;
  DataAttributes data;  ///< copied onto the arrow
};

/// Points on linear axes: `<circle class="point">` each, `<path class="ci">` per whisker
/// (class "ci ci-x" horizontal, "ci ci-y" vertical), `<path class="link">` per link under
/// them. The legend names each series once.
struct ScatterChart {
  std::string id;
  std::string title;
  Axis x;
  Axis y;
  std::vector<ScatterPoint> points;
  std::vector<ScatterLink> links{};
};
[[nodiscard]] std::string scatter_chart(const ScatterChart& chart);

/// The first `max_chars` characters (code points) of UTF-8 `text`, with "…" in place of the
/// rest when it is longer.
[[nodiscard]] std::string shorten(const std::string& text, std::size_t max_chars);

}  // namespace medsafe::svg
