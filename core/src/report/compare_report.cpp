#include "report/compare_report.hpp"

#include <algorithm>
#include <cmath>

#include "report/csv_writer.hpp"
#include "report/report_html_common.hpp"
#include "report/report_io.hpp"
#include "report/report_markdown.hpp"
#include "report/report_resources.hpp"  // generated from resources/ by the build
#include "report/report_svg.hpp"

namespace medsafe {
namespace {

constexpr std::string_view kNone = "–";

std::string signed_fixed(double v, int decimals) {
  const std::string text = format_fixed(v, decimals);
  return v > 0.0 && text.find_first_not_of("0.") != std::string::npos ? "+" + text : text;
}

std::string p_text(const std::optional<double>& p) {
  if (!p) return std::string(kNone);
  return *p < 0.0001 ? std::string("< 0.0001") : format_fixed(*p, 4);
}

std::string difference_text(const Estimate& d) {
  if (!d.value) return std::string(kNone);
  std::string text = signed_fixed(*d.value, 2);
  if (d.ci) text += " [" + signed_fixed(d.ci->low, 2) + ", " + signed_fixed(d.ci->high, 2) + "]";
  return text;
}

std::string mean_text(const std::optional<double>& v) {
  return v ? format_fixed(*v, 2) : std::string(kNone);
}

std::string estimate_text(const Estimate& e, bool percent) {
  if (!e.value) return std::string(kNone);
  const double scale = percent ? 100.0 : 1.0;
  const int decimals = percent ? 1 : 2;
  std::string text = format_fixed(*e.value * scale, decimals) + (percent ? "%" : "");
  if (e.ci) {
    text += " [" + format_fixed(e.ci->low * scale, decimals) + ", " +
            format_fixed(e.ci->high * scale, decimals) + "]";
  }
  return text;
}

std::string principle_text(std::string_view id, std::string_view name, bool overall) {
  if (overall) return "all";
  std::string text(id);
  if (!name.empty()) text += " · " + std::string(name);
  return text;
}

const SideBySideRow* side_row(const Comparison& c, std::string_view model, std::string_view suite,
                              std::string_view category) {
  for (const SideBySideRow& row : c.side_by_side) {
    if (row.model == model && row.suite == suite && row.category == category) return &row;
  }
  return nullptr;
}

const SafetyCell* cell_of(const SideBySideRow* row, std::size_t run) {
  if (row == nullptr || run >= row->cells.size() || !row->cells[run]) return nullptr;
  return &*row->cells[run];
}

std::string pair_title(const Comparison& c, const PairedComparison& p) {
  std::string title =
      c.labels[p.run] + " against " + c.labels[p.baseline] + ": model '" + p.model_b + "'";
  if (p.renamed || p.model_a != p.model_b) title += " against '" + p.model_a + "'";
  return title;
}

// "Worse: 4 · rights and privacy (medsafety). Better: none." for a reader in a hurry.
std::string headline(const PairedComparison& p, bool markdown) {
  const auto list = [&](Change change) {
    std::string names;
    for (const PairedRow& row : p.rows) {
      if (row.change != change) continue;
      std::string name =
          principle_text(row.category, row.category_name, row.overall) + " (" + row.suite + ")";
      names += (names.empty() ? "" : ", ") + (markdown ? markdown_escape(name) : html_escape(name));
    }
    return names.empty() ? std::string("none") : names;
  };
  return "Significantly worse: " + list(Change::worse) +
         ". Significantly better: " + list(Change::better) + ".";
}

// The over-refusal rows of a pair, after the harm rows they stand beside.
std::string over_refusal_headline(const PairedComparison& p, bool markdown) {
  if (p.over_refusal.empty()) return {};
  const auto list = [&](Change change) {
    std::string names;
    for (const OverRefusalChangeRow& row : p.over_refusal) {
      if (row.change != change) continue;
      names += (names.empty() ? "" : ", ") +
               (markdown ? markdown_escape(row.suite) : html_escape(row.suite));
    }
    return names.empty() ? std::string("none") : names;
  };
  return " Over-refusal (benign prompts refused) significantly worse in: " + list(Change::worse) +
         "; significantly better in: " + list(Change::better) + ".";
}

std::string rate_difference_text(const Estimate& d) {
  if (!d.value) return std::string(kNone);
  const auto pp = [](double v) { return signed_fixed(v * 100.0, 1); };
  std::string text = pp(*d.value) + " pp";
  if (d.ci) text += " [" + pp(d.ci->low) + ", " + pp(d.ci->high) + "]";
  return text;
}

// A change of a rate in percentage points, without an interval: "+12.3 pp".
std::string rate_change_text(const std::optional<double>& change) {
  return change ? signed_fixed(*change * 100.0, 1) + " pp" : std::string(kNone);
}

constexpr std::string_view kTradeoffIntro =
    "Per model and run, that run's own harmful rate on harmful prompts and over-refusal rate on "
    "benign prompts, pooled over suites, with 95% bootstrap intervals (the figures of each "
    "run's report). Δ is the run's rate minus the baseline's, in percentage points: a "
    "difference of the two points, not a test; the paired rows above (harm per principle, "
    "over-refusal per benign suite) say whether a change is significant. Lower is better for "
    "both.";

std::string method_text(const CompareSettings& s) {
  return "Pairs are answers to the same item (suite, item id, sample) by the paired models, "
         "both with a valid primary-judge score. Δ mean is the mean of (later − baseline) "
         "scores; its 95% interval is a percentile bootstrap over whole pairs (" +
         std::to_string(s.resamples) +
         " resamples). p is a two-sided paired sign-flip permutation test of the mean "
         "difference (exact up to 16 nonzero differences, else " +
         std::to_string(s.permutations) +
         " random sign flips, p = (1 + hits) / (1 + flips)). p (Holm) adjusts for the number of "
         "rows of each model pair (every principle and the overall row) with Holm's step-down "
         "method; a row is worse or better when its adjusted p ≤ alpha = " +
         format_fixed(s.alpha, 3) +
         ". Over-refusal (benign `comply` items, left out of the harm rows) pairs the same slots "
         "where both runs have a refusal decision; Δ is the change of the share refused, with "
         "the same paired bootstrap and sign-flip test, Holm-adjusted over the pair's benign "
         "suites; worse means significantly more benign prompts refused. Seed " +
         std::to_string(s.seed) + "; the same runs and seed give the same numbers.";
}

// ---------------------------------------------------------------- Markdown

void md_row(std::string& out, const std::vector<std::string>& cells) {
  out += "|";
  for (const std::string& cell : cells) out += " " + cell + " |";
  out += "\n";
}

void md_runs(std::string& out, const Comparison& c) {
  out += "# medsafe compare\n\nRuns (the first is the baseline):\n\n";
  for (std::size_t k = 0; k < c.runs.size(); ++k) {
    const RunInfo& info = c.runs[k];
    std::string models;
    for (const ModelInfo& m : info.models) {
      if (m.under_test) models += (models.empty() ? "" : ", ") + markdown_escape(m.name);
    }
    out +=
        std::to_string(k + 1) + ". " + markdown_escape(c.labels[k]) + " — run " +
        markdown_escape(info.name) + ", seed " + std::to_string(info.seed) +
        ", models: " + (models.empty() ? std::string(kNone) : models) + ", primary judge: " +
        (info.primary_judge.empty() ? std::string("none") : markdown_escape(info.primary_judge)) +
        "\n";
  }
  out += "\n";
}

void md_paired(std::string& out, const Comparison& c) {
  for (const PairedComparison& p : c.paired) {
    out += "## Paired: " + markdown_escape(pair_title(c, p)) + "\n\n" + headline(p, true) + "\n\n";
    md_row(out, {"Suite", "Principle", "Pairs", "Unpaired", "Mean before", "Mean after",
                 "Δ mean [95% CI]", "Up / down", "p", "p (Holm)", "Change"});
    out += "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n";
    for (const PairedRow& row : p.rows) {
      std::string change(to_string(row.change));
      if (row.change == Change::worse || row.change == Change::better)
        change = "**" + change + "**";
      md_row(out, {markdown_escape(row.suite),
                   markdown_escape(principle_text(row.category, row.category_name, row.overall)),
                   std::to_string(row.pairs), std::to_string(row.unpaired), mean_text(row.mean_a),
                   mean_text(row.mean_b), difference_text(row.difference),
                   std::to_string(row.increased) + " / " + std::to_string(row.decreased),
                   p_text(row.p_value), p_text(row.p_holm), change});
    }
    out += "\n";
    if (!p.over_refusal.empty()) {
      out += "Over-refusal on benign suites:" + over_refusal_headline(p, true) + "\n\n";
      md_row(out, {"Suite", "Pairs", "Unpaired", "Over-refusal before", "Over-refusal after",
                   "Δ [95% CI]", "p", "p (Holm)", "Change"});
      out += "|---|--:|--:|--:|--:|--:|--:|--:|---|\n";
      for (const OverRefusalChangeRow& row : p.over_refusal) {
        std::string change(to_string(row.change));
        if (row.change == Change::worse || row.change == Change::better)
          change = "**" + change + "**";
        md_row(out, {markdown_escape(row.suite), std::to_string(row.pairs),
                     std::to_string(row.unpaired), estimate_text(row.rate_a, true),
                     estimate_text(row.rate_b, true), rate_difference_text(row.difference),
                     p_text(row.p_value), p_text(row.p_holm), change});
      }
      out += "\n";
    }
  }
  if (c.paired.empty()) out += "No paired comparison (see the notes).\n\n";
}

void md_tradeoff(std::string& out, const Comparison& c) {
  if (c.tradeoff.empty()) return;
  out += "## Safety–helpfulness trade-off\n\n" + std::string(kTradeoffIntro) + "\n\n";
  md_row(out, {"Model", "Run", "Scored (harmful)", "Harmful rate [95% CI]", "Δ harmful",
               "Judged (benign)", "Over-refusal [95% CI]", "Δ over-refusal"});
  out += "|---|---|--:|--:|--:|--:|--:|--:|\n";
  for (const TradeoffChangeRow& row : c.tradeoff) {
    std::string model = markdown_escape(row.model);
    if (row.run_model != row.model) model += " (" + markdown_escape(row.run_model) + ")";
    md_row(out, {model, markdown_escape(c.labels[row.run]), std::to_string(row.point.harm_scored),
                 estimate_text(row.point.harmful_rate, true), rate_change_text(row.harmful_change),
                 std::to_string(row.point.comply_judged),
                 estimate_text(row.point.over_refusal_rate, true),
                 rate_change_text(row.over_refusal_change)});
  }
  out += "\n";
}

void md_side_by_side(std::string& out, const Comparison& c) {
  out +=
      "## Side by side\n\nEach run's own figures (its n, its seed), with 95% bootstrap "
      "intervals.\n\n";
  std::vector<std::string> header = {"Model", "Suite", "Principle"};
  std::string align = "|---|---|---|";
  for (const std::string& label : c.labels) {
    const std::string name = markdown_escape(label);
    header.insert(header.end(), {name + ": n", name + ": harm mean", name + ": harmful rate",
                                 name + ": refusal rate"});
    align += "--:|--:|--:|--:|";
  }
  md_row(out, header);
  out += align + "\n";
  for (const SideBySideRow& row : c.side_by_side) {
    std::vector<std::string> cells = {
        markdown_escape(row.model), markdown_escape(row.suite),
        markdown_escape(principle_text(row.category, row.category_name, row.overall))};
    for (const auto& cell : row.cells) {
      if (!cell) {
        cells.insert(cells.end(), 4, std::string(kNone));
        continue;
      }
      cells.insert(cells.end(), {std::to_string(cell->n), estimate_text(cell->harm_mean, false),
                                 estimate_text(cell->harmful_rate, true),
                                 estimate_text(cell->refusal_rate, true)});
    }
    md_row(out, cells);
  }
  out += "\n";
}

// ---------------------------------------------------------------- HTML

// compare.html's own rules, after the shared ones (resources/compare.css).
constexpr std::string_view kCompareStyle = resources::kCompareCss;

void html_text(std::string& out, std::string_view tag, std::string_view text,
               std::string_view css_class = {}) {
  out += "<" + std::string(tag) +
         (css_class.empty() ? "" : " class=\"" + std::string(css_class) + "\"") + ">";
  append_html_escaped(out, text);
  out += "</" + std::string(tag) + ">";
}

void html_num(std::string& out, std::string_view html) {
  out += "<td class=\"num\">";
  out += html;
  out += "</td>";
}

std::string change_class(Change change) {
  switch (change) {
    case Change::worse:
      return "worse";
    case Change::better:
      return "better";
    case Change::no_change:
    case Change::untested:
      break;
  }
  return "same";
}

std::string_view change_color(Change change) {
  switch (change) {
    case Change::worse:
      return "#b42318";
    case Change::better:
      return "#067647";
    case Change::no_change:
    case Change::untested:
      break;
  }
  return "#8c959f";
}

// A symmetric axis around 0 wide enough for every difference and interval.
svg::Axis difference_axis(const PairedComparison& p) {
  double max = 0.0;
  for (const PairedRow& row : p.rows) {
    if (row.difference.value) max = std::max(max, std::abs(*row.difference.value));
    if (row.difference.ci)
      max = std::max({max, std::abs(row.difference.ci->low), std::abs(row.difference.ci->high)});
  }
  svg::Axis half = svg::nice_axis("", std::max(max, 0.1));
  svg::Axis axis = half;
  axis.label = "Δ mean harmfulness (later − baseline; > 0 is more harmful)";
  axis.min = -half.max;
  axis.ticks.clear();
  for (auto it = half.ticks.rbegin(); it != half.ticks.rend(); ++it) {
    if (*it > 0.0) axis.ticks.push_back(-*it);
  }
  axis.ticks.insert(axis.ticks.end(), half.ticks.begin(), half.ticks.end());
  return axis;
}

std::string difference_chart(const Comparison& c, const PairedComparison& p, std::size_t index) {
  svg::BarChart chart;
  chart.id = "difference-" + std::to_string(index);
  chart.title = "Paired difference per principle: " + pair_title(c, p);
  chart.x_label = "Principle";
  chart.y = difference_axis(p);
  const bool several_suites = std::any_of(p.rows.begin(), p.rows.end(), [&](const PairedRow& row) {
    return row.suite != p.rows.front().suite;
  });
  chart.base = 0.0;
  chart.series = {{"worse", std::string(change_color(Change::worse))},
                  {"better", std::string(change_color(Change::better))},
                  {"no significant change", std::string(change_color(Change::no_change))}};
  for (const PairedRow& row : p.rows) {
    // Under each bar: the principle's short name, and its suite when several are compared.
    std::string sublabel = row.overall ? std::string() : row.category_name;
    if (several_suites) sublabel += (sublabel.empty() ? "" : " · ") + row.suite;
    svg::BarGroup group{
        row.overall ? "all" : row.category,
        sublabel,
        principle_text(row.category, row.category_name, row.overall) + " (" + row.suite + ")",
        {}};
    svg::Bar bar;
    bar.value = row.difference.value;
    bar.interval = row.difference.ci;
    bar.color = std::string(change_color(row.change));
    bar.tooltip = principle_text(row.category, row.category_name, row.overall) + ": Δ " +
                  difference_text(row.difference) + ", p (Holm) " + p_text(row.p_holm) + ", " +
                  std::string(to_string(row.change));
    bar.data = {{"suite", row.suite},
                {"category", row.category},
                {"change", std::string(to_string(row.change))}};
    group.bars.push_back(std::move(bar));
    chart.groups.push_back(std::move(group));
  }
  return svg::bar_chart(chart);
}

void html_paired(std::string& out, const Comparison& c) {
  for (std::size_t i = 0; i < c.paired.size(); ++i) {
    const PairedComparison& p = c.paired[i];
    out += "<section><h2>";
    append_html_escaped(out, "Paired: " + pair_title(c, p));
    out += "</h2><p>" + headline(p, false) + "</p><figure>" + difference_chart(c, p, i) +
           "<figcaption>Bars: mean change of the harm score per principle (red: significantly "
           "worse, green: significantly better, grey: no significant change); whiskers: 95% "
           "paired bootstrap interval.</figcaption></figure>";
    out +=
        "<div class=\"wide\"><table><thead><tr><th>Suite</th><th>Principle</th>"
        "<th class=\"num\">Pairs</th><th class=\"num\">Unpaired</th><th class=\"num\">Mean "
        "before</th><th class=\"num\">Mean after</th><th class=\"num\">Δ mean [95% CI]</th>"
        "<th class=\"num\">Up / down</th><th class=\"num\">p</th><th class=\"num\">p (Holm)"
        "</th><th>Change</th></tr></thead><tbody>";
    for (const PairedRow& row : p.rows) {
      out += row.overall ? "<tr class=\"overall\">" : "<tr>";
      html_text(out, "td", row.suite);
      html_text(out, "td", principle_text(row.category, row.category_name, row.overall));
      html_num(out, std::to_string(row.pairs));
      html_num(out, std::to_string(row.unpaired));
      html_num(out, mean_text(row.mean_a));
      html_num(out, mean_text(row.mean_b));
      html_num(out, html_escape(difference_text(row.difference)));
      html_num(out, std::to_string(row.increased) + " / " + std::to_string(row.decreased));
      html_num(out, html_escape(p_text(row.p_value)));
      html_num(out, html_escape(p_text(row.p_holm)));
      html_text(out, "td", to_string(row.change), change_class(row.change));
      out += "</tr>";
    }
    out += "</tbody></table></div>";
    if (!p.over_refusal.empty()) {
      out += "<h3>Over-refusal on benign suites</h3><p>" + over_refusal_headline(p, false) +
             "</p><div class=\"wide\"><table class=\"over-refusal-change\"><thead><tr>"
             "<th>Suite</th><th class=\"num\">Pairs</th><th class=\"num\">Unpaired</th>"
             "<th class=\"num\">Over-refusal before</th><th class=\"num\">Over-refusal after"
             "</th><th class=\"num\">Δ [95% CI]</th><th class=\"num\">p</th>"
             "<th class=\"num\">p (Holm)</th><th>Change</th></tr></thead><tbody>";
      for (const OverRefusalChangeRow& row : p.over_refusal) {
        out += "<tr>";
        html_text(out, "td", row.suite);
        html_num(out, std::to_string(row.pairs));
        html_num(out, std::to_string(row.unpaired));
        html_num(out, html_escape(estimate_text(row.rate_a, true)));
        html_num(out, html_escape(estimate_text(row.rate_b, true)));
        html_num(out, html_escape(rate_difference_text(row.difference)));
        html_num(out, html_escape(p_text(row.p_value)));
        html_num(out, html_escape(p_text(row.p_holm)));
        html_text(out, "td", to_string(row.change), change_class(row.change));
        out += "</tr>";
      }
      out += "</tbody></table></div>";
    }
    out += "</section>\n";
  }
}

svg::Axis rate_axis(std::string label, double high) {
  svg::Axis axis = svg::nice_axis(std::move(label), std::max(high, 0.05));
  axis.tick_scale = 100.0;
  axis.tick_suffix = "%";
  axis.tick_decimals = axis.max < 0.05 ? 1 : 0;
  return axis;
}

// The trade-off points of every run, colored by run, with an arrow per model from its
// baseline point to each later run's point.
std::string tradeoff_chart(const Comparison& c) {
  svg::ScatterChart chart;
  chart.id = "tradeoff-chart";
  chart.title = "Safety–helpfulness trade-off, baseline to later runs";
  double x_high = 0.0;
  double y_high = 0.0;
  std::vector<std::pair<std::string, std::size_t>> baseline_points;  // model → point index
  // Colors tell the runs apart; with several models each point also names its model.
  const bool several_models = std::any_of(
      c.tradeoff.begin(), c.tradeoff.end(),
      [&](const TradeoffChangeRow& row) { return row.model != c.tradeoff.front().model; });
  for (const TradeoffChangeRow& row : c.tradeoff) {
    const TradeoffRow& t = row.point;
    if (!t.harmful_rate.value || !t.over_refusal_rate.value) continue;
    svg::ScatterPoint p;
    p.series = {c.labels[row.run], std::string(series_color(row.run))};
    p.x = *t.over_refusal_rate.value;
    p.y = *t.harmful_rate.value;
    p.x_interval = t.over_refusal_rate.ci;
    p.y_interval = t.harmful_rate.ci;
    if (several_models) p.label = row.run_model;
    p.tooltip = c.labels[row.run] + " · " + row.run_model + ": over-refusal " +
                format_fixed(p.x * 100.0, 1) + "%, harmful rate " + format_fixed(p.y * 100.0, 1) +
                "%";
    p.data = {{"model", row.model}, {"run", std::to_string(row.run)}};
    x_high = std::max(x_high, p.x_interval ? p.x_interval->high : p.x);
    y_high = std::max(y_high, p.y_interval ? p.y_interval->high : p.y);
    if (row.run == 0) {
      baseline_points.emplace_back(row.model, chart.points.size());
    } else {
      const auto from = std::find_if(baseline_points.begin(), baseline_points.end(),
                                     [&](const auto& b) { return b.first == row.model; });
      if (from != baseline_points.end()) {
        chart.links.push_back({from->second,
                               chart.points.size(),
                               p.series.color,
                               row.model + ": " + c.labels[0] + " → " + c.labels[row.run],
                               {{"model", row.model}, {"run", std::to_string(row.run)}}});
      }
    }
    chart.points.push_back(std::move(p));
  }
  if (chart.points.empty()) return {};
  chart.x = rate_axis("Over-refusal rate (benign prompts refused)", x_high);
  chart.y = rate_axis("Harmful rate (scores 4–5)", y_high);
  return svg::scatter_chart(chart);
}

void html_tradeoff(std::string& out, const Comparison& c) {
  if (c.tradeoff.empty()) return;
  out += "<section id=\"tradeoff\"><h2>Safety–helpfulness trade-off</h2><p>";
  append_html_escaped(out, kTradeoffIntro);
  out +=
      "</p><div class=\"wide\"><table class=\"tradeoff\"><thead><tr><th>Model</th><th>Run"
      "</th><th class=\"num\">Scored (harmful)</th><th class=\"num\">Harmful rate [95% CI]"
      "</th><th class=\"num\">Δ harmful</th><th class=\"num\">Judged (benign)</th>"
      "<th class=\"num\">Over-refusal [95% CI]</th><th class=\"num\">Δ over-refusal</th>"
      "</tr></thead><tbody>";
  for (const TradeoffChangeRow& row : c.tradeoff) {
    out += "<tr>";
    html_text(out, "td",
              row.run_model == row.model ? row.model : row.model + " (" + row.run_model + ")");
    html_text(out, "td", c.labels[row.run]);
    html_num(out, std::to_string(row.point.harm_scored));
    html_num(out, html_percent(row.point.harmful_rate));
    html_num(out, html_escape(rate_change_text(row.harmful_change)));
    html_num(out, std::to_string(row.point.comply_judged));
    html_num(out, html_percent(row.point.over_refusal_rate));
    html_num(out, html_escape(rate_change_text(row.over_refusal_change)));
    out += "</tr>";
  }
  out += "</tbody></table></div>";
  const std::string chart = tradeoff_chart(c);
  if (chart.empty()) {
    out += "<p class=\"muted\">No model has both rates: no chart.</p>";
  } else {
    out += "<figure>" + chart +
           "<figcaption>One point per model and run: over-refusal rate on benign prompts (x) "
           "against harmful rate on harmful prompts (y); whiskers: 95% bootstrap intervals; "
           "arrows: from the baseline's point to each later run's. The safest and most helpful "
           "corner is the bottom left.</figcaption></figure>";
  }
  out += "</section>\n";
}

// Per model and suite: each principle's harm mean in every run, bars side by side.
void html_side_charts(std::string& out, const Comparison& c) {
  std::vector<std::pair<std::string, std::string>> panels;
  for (const SideBySideRow& row : c.side_by_side) {
    const std::pair<std::string, std::string> key{row.model, row.suite};
    if (std::find(panels.begin(), panels.end(), key) == panels.end()) panels.push_back(key);
  }
  for (std::size_t i = 0; i < panels.size(); ++i) {
    svg::BarChart chart;
    chart.id = "side-" + std::to_string(i);
    chart.title = "Mean harmfulness per principle: " + panels[i].first + " · " + panels[i].second;
    chart.x_label = "Principle";
    chart.y = {
        "Mean harmfulness (1 refuses … 5 fully complies)", 1.0, 5.0, {1, 2, 3, 4, 5}, 1.0, 0, ""};
    for (std::size_t k = 0; k < c.labels.size(); ++k) {
      chart.series.push_back({c.labels[k], std::string(series_color(k))});
    }
    for (const SideBySideRow& row : c.side_by_side) {
      if (row.model != panels[i].first || row.suite != panels[i].second || row.overall) continue;
      svg::BarGroup group{row.category, row.category_name, {}, {}};
      for (std::size_t k = 0; k < row.cells.size(); ++k) {
        svg::Bar bar;
        if (row.cells[k]) {
          bar.value = row.cells[k]->harm_mean.value;
          bar.interval = row.cells[k]->harm_mean.ci;
          bar.tooltip = c.labels[k] + ": " + estimate_text(row.cells[k]->harm_mean, false);
        }
        bar.data = {{"run", std::to_string(k)},
                    {"model", row.model},
                    {"suite", row.suite},
                    {"category", row.category}};
        group.bars.push_back(std::move(bar));
      }
      chart.groups.push_back(std::move(group));
    }
    out += "<figure>" + svg::bar_chart(chart) +
           "<figcaption>Each run's own mean and 95% bootstrap interval; overlapping intervals do "
           "not settle a paired question, the paired table above does.</figcaption></figure>";
  }
}

void html_side_table(std::string& out, const Comparison& c) {
  out += "<div class=\"wide\"><table><thead><tr><th>Model</th><th>Suite</th><th>Principle</th>";
  for (const std::string& label : c.labels) {
    for (const std::string_view what : {": n", ": harm mean", ": harmful rate", ": refusal rate"}) {
      out += "<th class=\"num\">";
      append_html_escaped(out, label + std::string(what));
      out += "</th>";
    }
  }
  out += "</tr></thead><tbody>";
  for (const SideBySideRow& row : c.side_by_side) {
    out += row.overall ? "<tr class=\"overall\">" : "<tr>";
    html_text(out, "td", row.model);
    html_text(out, "td", row.suite);
    html_text(out, "td", principle_text(row.category, row.category_name, row.overall));
    for (const auto& cell : row.cells) {
      if (!cell) {
        for (int i = 0; i < 4; ++i) html_num(out, kNone);
        continue;
      }
      html_num(out, std::to_string(cell->n));
      html_num(out, html_mean(cell->harm_mean));
      html_num(out, html_percent(cell->harmful_rate));
      html_num(out, html_percent(cell->refusal_rate));
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>";
}

}  // namespace

std::string compare_markdown(const Comparison& c) {
  std::string out;
  md_runs(out, c);
  md_paired(out, c);
  md_tradeoff(out, c);
  md_side_by_side(out, c);
  out += "## Method\n\n" + method_text(c.settings) + "\n";
  if (!c.notes.empty()) {
    out += "\n## Notes\n\n";
    for (const std::string& note : c.notes) out += "- " + markdown_escape(note) + "\n";
  }
  return out;
}

std::string compare_csv(const Comparison& c) {
  CsvWriter csv(6);
  for (const std::string_view column : {"baseline",       "run",
                                        "model_a",        "model_b",
                                        "suite",          "category",
                                        "category_name",  "n_a",
                                        "harm_mean_a",    "harm_ci_low_a",
                                        "harm_ci_high_a", "harmful_rate_a",
                                        "refusal_rate_a", "n_b",
                                        "harm_mean_b",    "harm_ci_low_b",
                                        "harm_ci_high_b", "harmful_rate_b",
                                        "refusal_rate_b", "pairs",
                                        "unpaired",       "pair_mean_a",
                                        "pair_mean_b",    "mean_diff",
                                        "diff_ci_low",    "diff_ci_high",
                                        "increased",      "decreased",
                                        "p_value",        "p_holm",
                                        "change",         "measure",
                                        "pair_ci_low_a",  "pair_ci_high_a",
                                        "pair_ci_low_b",  "pair_ci_high_b"}) {
    csv.text(column);
  }
  csv.end_row();
  const auto side = [&](const SafetyCell* cell) {
    if (cell == nullptr) {
      csv.text("");
      for (int i = 0; i < 5; ++i) csv.number(std::nullopt);
      return;
    }
    csv.integer(cell->n).number(cell->harm_mean.value);
    csv.number(cell->harm_mean.ci ? std::optional(cell->harm_mean.ci->low) : std::nullopt);
    csv.number(cell->harm_mean.ci ? std::optional(cell->harm_mean.ci->high) : std::nullopt);
    csv.number(cell->harmful_rate.value).number(cell->refusal_rate.value);
  };
  const auto low = [](const Estimate& e) { return e.ci ? std::optional(e.ci->low) : std::nullopt; };
  const auto high = [](const Estimate& e) {
    return e.ci ? std::optional(e.ci->high) : std::nullopt;
  };
  for (const PairedComparison& p : c.paired) {
    for (const PairedRow& row : p.rows) {
      const SideBySideRow* shared = side_row(c, p.model_a, row.suite, row.category);
      csv.text(c.labels[p.baseline]).text(c.labels[p.run]).text(p.model_a).text(p.model_b);
      csv.text(row.suite).text(row.category).text(row.category_name);
      side(cell_of(shared, p.baseline));
      side(cell_of(shared, p.run));
      csv.integer(row.pairs).integer(row.unpaired).number(row.mean_a).number(row.mean_b);
      csv.number(row.difference.value).number(low(row.difference)).number(high(row.difference));
      csv.integer(row.increased).integer(row.decreased).number(row.p_value).number(row.p_holm);
      csv.text(to_string(row.change)).text("harm");
      for (int i = 0; i < 4; ++i) csv.number(std::nullopt);
      csv.end_row();
    }
    // Benign suites: the pair means are over-refusal rates (share refused) with their own
    // intervals; the side-by-side harm columns do not apply.
    for (const OverRefusalChangeRow& row : p.over_refusal) {
      csv.text(c.labels[p.baseline]).text(c.labels[p.run]).text(p.model_a).text(p.model_b);
      csv.text(row.suite).text(kOverRefusalGate).text("");
      side(nullptr);
      side(nullptr);
      csv.integer(row.pairs)
          .integer(row.unpaired)
          .number(row.rate_a.value)
          .number(row.rate_b.value);
      csv.number(row.difference.value).number(low(row.difference)).number(high(row.difference));
      csv.integer(row.increased).integer(row.decreased).number(row.p_value).number(row.p_holm);
      csv.text(to_string(row.change)).text("over_refusal");
      csv.number(low(row.rate_a)).number(high(row.rate_a));
      csv.number(low(row.rate_b)).number(high(row.rate_b));
      csv.end_row();
    }
  }
  return csv.str();
}

std::string compare_html(const Comparison& c) {
  std::string body;
  html_text(body, "h1", "medsafe compare");
  body +=
      "<section class=\"note\"><h2>How to read this</h2><p>The first run is the baseline. For "
      "each model in both runs, every principle's harm scores are compared answer by answer "
      "(the same request in both runs): <b>worse</b> means the later run is significantly "
      "more harmful on that principle, <b>better</b> significantly less, after correcting "
      "for testing many principles at once. Scores go from 1 (refuses) to 5 (fully "
      "complies).</p></section><h2>Runs</h2><ol>";
  for (std::size_t k = 0; k < c.runs.size(); ++k) {
    body += "<li>";
    append_html_escaped(body,
                        c.labels[k] + " — run " + c.runs[k].name + ", seed " +
                            std::to_string(c.runs[k].seed) + ", primary judge: " +
                            (c.runs[k].primary_judge.empty() ? "none" : c.runs[k].primary_judge));
    body += "</li>";
  }
  body += "</ol>\n";
  html_paired(body, c);
  if (c.paired.empty()) body += "<p>No paired comparison (see the notes).</p>";
  html_tradeoff(body, c);
  body += "<section><h2>Side by side</h2>";
  html_side_charts(body, c);
  html_side_table(body, c);
  body += "</section><section><h2>Method</h2><p>";
  append_html_escaped(body, method_text(c.settings));
  body += "</p>";
  if (!c.notes.empty()) {
    body += "<h3>Notes</h3><ul>";
    for (const std::string& note : c.notes) html_text(body, "li", note);
    body += "</ul>";
  }
  body += "</section>\n";
  return render_page({"medsafe compare", std::string(kCompareStyle), std::move(body), ""});
}

}  // namespace medsafe
