#include "report/report_svg.hpp"

#include <algorithm>
#include <cmath>

#include "report/report_html_common.hpp"
#include "report/report_io.hpp"

namespace medsafe::svg {
namespace {

// Every chart is drawn in a 960-unit wide view box and scaled by CSS to the page.
constexpr double kWidth = 960.0;
constexpr double kLeft = 70.0;  // room for tick values and the rotated axis label
constexpr double kRight = 16.0;
constexpr double kCharWidth = 6.6;  // average advance of an 11–12 px system-font character
constexpr double kLegendRow = 18.0;
constexpr double kPlotHeight = 260.0;

std::string coord(double v) { return format_fixed(v, 1); }

// Code points in UTF-8 text: every byte that is not a continuation byte starts one.
std::size_t char_count(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

void attribute(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  append_html_escaped(out, value);
  out += '"';
}

void data_attributes(std::string& out, const DataAttributes& data) {
  for (const auto& [name, value] : data) attribute(out, "data-" + name, value);
}

// <title> as the first child gives the element its hover text and accessible name.
void tooltip(std::string& out, std::string_view text) {
  if (text.empty()) return;
  out += "<title>";
  append_html_escaped(out, text);
  out += "</title>";
}

void text(std::string& out, double x, double y, std::string_view css_class, std::string_view anchor,
          std::string_view content) {
  out += "<text";
  attribute(out, "class", css_class);
  attribute(out, "x", coord(x));
  attribute(out, "y", coord(y));
  if (!anchor.empty()) attribute(out, "text-anchor", anchor);
  out += '>';
  append_html_escaped(out, content);
  out += "</text>";
}

void open_svg(std::string& out, const std::string& id, double height, const std::string& title) {
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\"";
  attribute(out, "id", id);
  attribute(out, "viewBox", "0 0 " + coord(kWidth) + " " + coord(height));
  attribute(out, "width", coord(kWidth));
  attribute(out, "height", coord(height));
  out += '>';
  tooltip(out, title);
  text(out, kLeft, 22.0, "title", "", title);
}

// The legend under the title, wrapping onto more rows; returns the y below it.
double legend(std::string& out, const std::vector<Series>& series, double y) {
  double x = kLeft;
  for (const Series& s : series) {
    const std::string name = shorten(s.name, 40);
    const double item = 18.0 + static_cast<double>(char_count(name)) * kCharWidth + 18.0;
    if (x > kLeft && x + item > kWidth - kRight) {
      x = kLeft;
      y += kLegendRow;
    }
    out += "<g class=\"legend\">";
    tooltip(out, s.name);
    out += "<rect";
    attribute(out, "x", coord(x));
    attribute(out, "y", coord(y - 10.0));
    attribute(out, "width", "12");
    attribute(out, "height", "12");
    attribute(out, "fill", s.color);
    out += "/>";
    text(out, x + 18.0, y, "legend", "", name);
    out += "</g>";
    x += item;
  }
  return y + (series.empty() ? 0.0 : kLegendRow);
}

// Maps axis values to view-box coordinates along [from, to].
struct Scale {
  double min, max, from, to;
  [[nodiscard]] double operator()(double v) const {
    const double span = max - min;
    const double t = span > 0.0 ? (std::clamp(v, min, max) - min) / span : 0.0;
    return from + t * (to - from);
  }
};

// One <line> from (x1, y1) to (x2, y2), its attributes in the order x1 x2 y1 y2.
void line(std::string& out, std::string_view css_class, double x1, double x2, double y1,
          double y2) {
  out += "<line class=\"";
  out += css_class;
  out += "\"";
  attribute(out, "x1", coord(x1));
  attribute(out, "x2", coord(x2));
  attribute(out, "y1", coord(y1));
  attribute(out, "y2", coord(y2));
  out += "/>";
}

std::string tick_text(const Axis& axis, double v) {
  return format_fixed(v * axis.tick_scale, axis.tick_decimals) + axis.tick_suffix;
}

// Horizontal grid lines with the y axis's tick values at their left.
void y_grid(std::string& out, const Axis& axis, const Scale& y, double left, double right) {
  for (const double t : axis.ticks) {
    line(out, "grid", left, right, y(t), y(t));
    text(out, left - 6.0, y(t) + 4.0, "tick", "end", tick_text(axis, t));
  }
  line(out, "axis", left, left, y.to, y.from);
}

void y_label(std::string& out, const std::string& label, double top, double bottom) {
  out += "<text class=\"axis-label\" text-anchor=\"middle\"";
  attribute(out, "transform", "rotate(-90)");
  attribute(out, "x", coord(-(top + bottom) / 2.0));
  attribute(out, "y", "16");
  out += '>';
  append_html_escaped(out, label);
  out += "</text>";
}

// What line and scatter charts share on their two linear axes.
struct XyFrame {
  Scale x;
  Scale y;
  double height = 0.0;  ///< of the whole chart
};

// The legend, the y grid with its axis and label, the x ticks and the x axis line of a chart
// on two linear axes; returns the scales its points are drawn with.
XyFrame xy_frame(std::string& body, const std::vector<Series>& series, const Axis& x_axis,
                 const Axis& y_axis) {
  const double plot_top = legend(body, series, 44.0) + 8.0;
  const double plot_bottom = plot_top + kPlotHeight;
  const double plot_left = kLeft;
  const double plot_right = kWidth - kRight;
  const XyFrame frame{Scale{x_axis.min, x_axis.max, plot_left, plot_right},
                      Scale{y_axis.min, y_axis.max, plot_bottom, plot_top}, plot_bottom + 56.0};
  y_grid(body, y_axis, frame.y, plot_left, plot_right);
  y_label(body, y_axis.label, plot_top, plot_bottom);
  for (const double t : x_axis.ticks) {
    text(body, frame.x(t), plot_bottom + 16.0, "tick", "middle", tick_text(x_axis, t));
  }
  line(body, "axis", plot_left, plot_right, plot_bottom, plot_bottom);
  return frame;
}

// The x axis label under the frame, and the svg element around `body`.
std::string close_xy(std::string& body, const XyFrame& frame, const std::string& id,
                     const std::string& title, const std::string& x_label) {
  text(body, (frame.x.from + frame.x.to) / 2.0, frame.height - 10.0, "axis-label", "middle",
       x_label);
  std::string out;
  open_svg(out, id, frame.height, title);
  return out + body + "</svg>";
}

// Greedy word wrap into at most `lines` lines of `width` characters; the last line ends with
// "…" when text is left over. A word longer than a line is cut.
std::vector<std::string> wrap(const std::string& text, std::size_t width, std::size_t lines) {
  std::vector<std::string> out;
  std::string line;
  std::size_t start = 0;
  bool rest = false;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    const std::string candidate = line.empty() ? word : line + " " + word;
    if (char_count(candidate) <= width) {
      line = candidate;
      continue;
    }
    if (!line.empty()) out.push_back(line);
    line = word;
    if (out.size() == lines) {
      rest = true;
      break;
    }
  }
  if (!rest && !line.empty()) out.push_back(line);
  if (out.size() > lines) {
    out.resize(lines);
    rest = true;
  }
  for (auto& l : out) l = shorten(l, width);
  if (rest && !out.empty()) {
    std::string& last = out.back();
    last =
        char_count(last) < width ? last + "…" : shorten(last, std::max<std::size_t>(width, 2) - 1);
  }
  return out;
}

void whisker(std::string& out, double cx, double half, double y_low, double y_high,
             const DataAttributes& data, const Interval& interval) {
  out += "<path class=\"ci\"";
  data_attributes(out, data);
  const std::string l = coord(cx - half);
  const std::string r = coord(cx + half);
  attribute(out, "d",
            "M" + coord(cx) + " " + coord(y_low) + "V" + coord(y_high) + "M" + l + " " +
                coord(y_low) + "H" + r + "M" + l + " " + coord(y_high) + "H" + r);
  out += '>';
  tooltip(out,
          "95% interval " + format_fixed(interval.low, 3) + " – " + format_fixed(interval.high, 3));
  out += "</path>";
}

void group_labels(std::string& out, const BarGroup& group, double cx, double group_width,
                  double y) {
  out += "<g class=\"group-label\">";
  tooltip(out, group.tooltip.empty() ? group.label + " " + group.sublabel : group.tooltip);
  text(out, cx, y, "tick", "middle", group.label);
  const auto width = static_cast<std::size_t>(std::max(4.0, group_width / kCharWidth - 1.0));
  double line_y = y + 14.0;
  for (const std::string& line : wrap(group.sublabel, width, 2)) {
    text(out, cx, line_y, "tick", "middle", line);
    line_y += 13.0;
  }
  out += "</g>";
}

// The class of a label on a "#rrggbb" fill: dark or light ink, whichever reads better.
std::string_view ink_on(std::string_view color) {
  if (color.size() != 7 || color[0] != '#') return "seg-label";
  const auto channel = [&](std::size_t i) {
    return std::stoi(std::string(color.substr(i, 2)), nullptr, 16);
  };
  const double luminance = 0.299 * channel(1) + 0.587 * channel(3) + 0.114 * channel(5);
  return luminance > 150.0 ? "seg-label" : "seg-label on-dark";
}

}  // namespace

std::string shorten(const std::string& text, std::size_t max_chars) {
  if (char_count(text) <= max_chars) return text;
  std::size_t kept = 0;
  std::size_t i = 0;
  const std::size_t keep = max_chars == 0 ? 0 : max_chars - 1;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0U) != 0x80U) {
      if (kept == keep) break;
      ++kept;
    }
  }
  return text.substr(0, i) + "…";
}

Axis nice_axis(std::string label, double max) {
  Axis axis;
  axis.label = std::move(label);
  if (!(max > 0.0) || !std::isfinite(max)) max = 1.0;
  // The step is 1, 2 or 5 × 10^k, the smallest giving at most five intervals.
  const double magnitude = std::pow(10.0, std::floor(std::log10(max / 5.0)));
  double step = magnitude;
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (max / step <= 5.0) break;
  }
  axis.max = std::ceil(max / step - 1e-9) * step;
  for (double t = 0.0; t <= axis.max + step / 2.0; t += step) axis.ticks.push_back(t);
  axis.tick_decimals = step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return axis;
}

std::string bar_chart(const BarChart& chart) {
  std::string body;
  const double plot_top = legend(body, chart.series, 44.0) + 8.0;
  const double plot_bottom = plot_top + chart.plot_height;
  const double height = plot_bottom + 84.0;
  const Scale y{chart.y.min, chart.y.max, plot_bottom, plot_top};
  const double plot_left = kLeft;
  const double plot_right = kWidth - kRight;
  y_grid(body, chart.y, y, plot_left, plot_right);
  y_label(body, chart.y.label, plot_top, plot_bottom);

  const double groups = static_cast<double>(std::max<std::size_t>(chart.groups.size(), 1));
  const double group_width = (plot_right - plot_left) / groups;
  std::size_t most_bars = 1;
  for (const BarGroup& group : chart.groups) most_bars = std::max(most_bars, group.bars.size());
  const auto series = static_cast<double>(most_bars);
  const double bar_width = std::min(48.0, group_width * 0.8 / series);
  const double base_y = y(chart.base.value_or(chart.y.min));
  for (std::size_t g = 0; g < chart.groups.size(); ++g) {
    const BarGroup& group = chart.groups[g];
    const double group_left = plot_left + static_cast<double>(g) * group_width;
    const double first = group_left + (group_width - bar_width * series) / 2.0;
    for (std::size_t s = 0; s < group.bars.size(); ++s) {
      const Bar& bar = group.bars[s];
      const double x = first + static_cast<double>(s) * bar_width;
      const double cx = x + bar_width / 2.0;
      if (!bar.value) {
        text(body, cx, plot_bottom - 4.0, "empty", "middle", "n/a");
        continue;
      }
      const double end = y(*bar.value);
      const double top = std::min(end, base_y);
      body += "<rect class=\"bar\"";
      data_attributes(body, bar.data);
      attribute(body, "x", coord(x + 1.0));
      attribute(body, "y", coord(top));
      attribute(body, "width", coord(std::max(1.0, bar_width - 2.0)));
      attribute(body, "height", coord(std::abs(base_y - end)));
      const std::string fallback = s < chart.series.size() ? chart.series[s].color : "#888888";
      attribute(body, "fill", bar.color.empty() ? fallback : bar.color);
      body += '>';
      tooltip(body, bar.tooltip);
      body += "</rect>";
      if (bar.interval) {
        whisker(body, cx, std::min(6.0, bar_width / 4.0), y(bar.interval->low),
                y(bar.interval->high), bar.data, *bar.interval);
      }
    }
    group_labels(body, group, group_left + group_width / 2.0, group_width, plot_bottom + 16.0);
  }
  if (chart.base) {
    line(body, "axis", plot_left, plot_right, base_y, base_y);
  }
  line(body, "axis", plot_left, plot_right, plot_bottom, plot_bottom);
  text(body, (plot_left + plot_right) / 2.0, height - 10.0, "axis-label", "middle", chart.x_label);
  std::string out;
  open_svg(out, chart.id, height, chart.title);
  return out + body + "</svg>";
}

std::string stacked_chart(const StackedChart& chart) {
  constexpr double kLabelWidth = 200.0;
  constexpr double kRow = 22.0;
  constexpr double kCountWidth = 70.0;
  std::string body;
  double y = legend(body, chart.segments, 44.0) + 6.0;
  const double bar_left = kLabelWidth;
  const double bar_right = kWidth - kCountWidth;
  const Scale x{0.0, 1.0, bar_left, bar_right};
  const double plot_top = y;
  const std::string* group = nullptr;
  for (const StackedRow& row : chart.rows) {
    if (group == nullptr || *group != row.group) {
      group = &row.group;
      y += 18.0;
      text(body, 8.0, y, "legend", "", shorten(row.group, 140));
      y += 6.0;
    }
    const double top = y;
    text(body, 20.0, top + 15.0, "tick", "", shorten(row.label, 26));
    std::int64_t total = 0;
    for (const auto c : row.counts) total += c;
    if (total == 0) text(body, bar_left + 4.0, top + 15.0, "empty", "", "no scores");
    std::int64_t before = 0;
    for (std::size_t s = 0; s < row.counts.size() && total > 0; ++s) {
      const std::int64_t count = row.counts[s];
      if (count == 0) continue;
      const double share = static_cast<double>(count) / static_cast<double>(total);
      const double left = x(static_cast<double>(before) / static_cast<double>(total));
      const double right = x(static_cast<double>(before + count) / static_cast<double>(total));
      before += count;
      const std::string color = s < chart.segments.size() ? chart.segments[s].color : "#888888";
      const std::string name = s < chart.segments.size() ? chart.segments[s].name : "";
      body += "<rect class=\"seg\"";
      data_attributes(body, row.data);
      attribute(body, "data-segment", std::to_string(s + 1));
      attribute(body, "x", coord(left));
      attribute(body, "y", coord(top + 2.0));
      attribute(body, "width", coord(right - left));
      attribute(body, "height", coord(kRow - 4.0));
      attribute(body, "fill", color);
      body += '>';
      tooltip(body, row.tooltip + ": " + name + ": " + std::to_string(count) + " (" +
                        format_fixed(share * 100.0, 1) + "%)");
      body += "</rect>";
      if (right - left >= 34.0) {
        text(body, (left + right) / 2.0, top + 15.0, ink_on(color), "middle",
             format_fixed(share * 100.0, 0) + "%");
      }
    }
    text(body, bar_right + 8.0, top + 15.0, "tick", "", "n=" + std::to_string(total));
    y += kRow;
  }
  const double plot_bottom = y + 4.0;
  for (const double t : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    line(body, "grid", x(t), x(t), plot_top, plot_bottom);
    text(body, x(t), plot_bottom + 14.0, "tick", "middle", format_fixed(t * 100.0, 0) + "%");
  }
  const double height = plot_bottom + 44.0;
  text(body, (bar_left + bar_right) / 2.0, height - 10.0, "axis-label", "middle", chart.x_label);
  std::string out;
  open_svg(out, chart.id, height, chart.title);
  return out + body + "</svg>";
}

std::string line_chart(const LineChart& chart) {
  std::vector<Series> series;
  for (const Line& line : chart.lines) series.push_back(line.series);
  std::string body;
  const XyFrame frame = xy_frame(body, series, chart.x, chart.y);
  const Scale& x = frame.x;
  const Scale& y = frame.y;
  for (const Line& line : chart.lines) {
    std::string points;
    for (const Point& p : line.points) {
      points += (points.empty() ? "" : " ") + coord(x(p.x)) + "," + coord(y(p.y));
    }
    body += "<polyline class=\"line\" fill=\"none\" stroke-width=\"2\"";
    attribute(body, "stroke", line.series.color);
    attribute(body, "points", points);
    body += "/>";
    for (const Point& p : line.points) {
      body += "<circle class=\"point\" r=\"4\"";
      data_attributes(body, p.data);
      attribute(body, "cx", coord(x(p.x)));
      attribute(body, "cy", coord(y(p.y)));
      attribute(body, "fill", line.series.color);
      body += '>';
      tooltip(body, p.tooltip);
      body += "</circle>";
    }
  }
  return close_xy(body, frame, chart.id, chart.title, chart.x.label);
}

std::string scatter_chart(const ScatterChart& chart) {
  std::vector<Series> series;
  for (const ScatterPoint& p : chart.points) {
    // Several points of one series (a run's models) share one legend entry.
    if (std::none_of(series.begin(), series.end(), [&](const Series& s) {
          return s.name == p.series.name && s.color == p.series.color;
        }))
      series.push_back(p.series);
  }
  std::string body;
  const XyFrame frame = xy_frame(body, series, chart.x, chart.y);
  const Scale& x = frame.x;
  const Scale& y = frame.y;
  for (const ScatterLink& link : chart.links) {
    if (link.from >= chart.points.size() || link.to >= chart.points.size()) continue;
    const ScatterPoint& a = chart.points[link.from];
    const ScatterPoint& b = chart.points[link.to];
    const double x1 = x(a.x);
    const double y1 = y(a.y);
    const double dx = x(b.x) - x1;
    const double dy = y(b.y) - y1;
    const double length = std::hypot(dx, dy);
    // Points closer than their circles have nowhere to draw an arrow.
    if (length < 12.0) continue;
    const double ux = dx / length;
    const double uy = dy / length;
    // Stop at the target's circle (radius 5) so the head stays visible.
    const double x2 = x1 + ux * (length - 6.0);
    const double y2 = y1 + uy * (length - 6.0);
    constexpr double kHead = 8.0;
    const double hx = x2 - ux * kHead;
    const double hy = y2 - uy * kHead;
    body += "<path class=\"link\" fill=\"none\" stroke-width=\"1.5\"";
    data_attributes(body, link.data);
    attribute(body, "stroke", link.color);
    attribute(body, "d",
              "M" + coord(x1) + " " + coord(y1) + "L" + coord(x2) + " " + coord(y2) + "M" +
                  coord(hx - uy * kHead / 2.0) + " " + coord(hy + ux * kHead / 2.0) + "L" +
                  coord(x2) + " " + coord(y2) + "L" + coord(hx + uy * kHead / 2.0) + " " +
                  coord(hy - ux * kHead / 2.0));
    body += '>';
    tooltip(body, link.tooltip);
    body += "</path>";
  }
  constexpr double kCap = 4.0;
  const auto interval_tooltip = [](std::string& out, const Interval& interval) {
    tooltip(out, "95% interval " + format_fixed(interval.low, 3) + " – " +
                     format_fixed(interval.high, 3));
  };
  for (const ScatterPoint& p : chart.points) {
    const double cx = x(p.x);
    const double cy = y(p.y);
    if (p.x_interval) {
      const std::string lo = coord(x(p.x_interval->low));
      const std::string hi = coord(x(p.x_interval->high));
      body += "<path class=\"ci ci-x\"";
      data_attributes(body, p.data);
      attribute(body, "stroke", p.series.color);
      attribute(body, "d",
                "M" + lo + " " + coord(cy) + "H" + hi + "M" + lo + " " + coord(cy - kCap) + "V" +
                    coord(cy + kCap) + "M" + hi + " " + coord(cy - kCap) + "V" + coord(cy + kCap));
      body += '>';
      interval_tooltip(body, *p.x_interval);
      body += "</path>";
    }
    if (p.y_interval) {
      const std::string lo = coord(y(p.y_interval->low));
      const std::string hi = coord(y(p.y_interval->high));
      body += "<path class=\"ci ci-y\"";
      data_attributes(body, p.data);
      attribute(body, "stroke", p.series.color);
      attribute(body, "d",
                "M" + coord(cx) + " " + lo + "V" + hi + "M" + coord(cx - kCap) + " " + lo + "H" +
                    coord(cx + kCap) + "M" + coord(cx - kCap) + " " + hi + "H" + coord(cx + kCap));
      body += '>';
      interval_tooltip(body, *p.y_interval);
      body += "</path>";
    }
    body += "<circle class=\"point\" r=\"5\"";
    data_attributes(body, p.data);
    attribute(body, "cx", coord(cx));
    attribute(body, "cy", coord(cy));
    attribute(body, "fill", p.series.color);
    body += '>';
    tooltip(body, p.tooltip);
    body += "</circle>";
    if (!p.label.empty()) text(body, cx + 8.0, cy - 8.0, "point-label", "", shorten(p.label, 30));
  }
  return close_xy(body, frame, chart.id, chart.title, chart.x.label);
}

}  // namespace medsafe::svg
