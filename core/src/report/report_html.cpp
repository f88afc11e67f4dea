#include "report/report_html.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <tuple>
#include <unordered_map>

#include "medsafe/error.hpp"
#include "medsafe/json_text.hpp"
#include "report/report_answers.hpp"
#include "report/report_calibration.hpp"
#include "report/report_failures.hpp"
#include "report/report_flags.hpp"
#include "report/report_html_common.hpp"
#include "report/report_io.hpp"
#include "report/report_resources.hpp"  // generated from resources/ by the build
#include "report/report_status.hpp"
#include "report/report_svg.hpp"

namespace medsafe {
namespace {

// Answers per side file: a few hundred kilobytes, loaded in a blink.
constexpr std::size_t kSideFileAnswers = 500;

// Answer rows in the page at most, whatever its byte bound: 15,000 rows (10 MB) took headless
// Chromium 40 s to show on the project's machine; the filters page 100 at a time anyway.
constexpr std::size_t kInlineAnswers = 2000;

constexpr std::array<std::string_view, 5> kScoreNames = {"refuses", "restrained", "engages",
                                                         "partly complies", "fully complies"};

// The page's own script and style, in resources/report.js and report.css (embedded by the build:
// cmake/MedsafeEmbed.cmake). Both files begin with an empty line, so that <script> and <style>
// stand on lines of their own in the page source; the policy's hash covers the script's bytes.
// The script only filters and pages rows: it reads data-* attributes and textContent, writes
// `hidden`, `disabled` and textContent. Text from the run never passes through it into markup.
constexpr std::string_view kScript = resources::kReportJs;
constexpr std::string_view kStyle = resources::kReportCss;

// The models of the safety table, in its order.
std::vector<std::string> table_models(const SafetyTable& safety) {
  std::vector<std::string> models;
  for (const SafetyCell& row : safety.rows) {
    if (std::find(models.begin(), models.end(), row.model) == models.end())
      models.push_back(row.model);
  }
  return models;
}

std::vector<std::string> table_suites(const SafetyTable& safety) {
  std::vector<std::string> suites;
  for (const SafetyCell& row : safety.rows) {
    if (std::find(suites.begin(), suites.end(), row.suite) == suites.end())
      suites.push_back(row.suite);
  }
  return suites;
}

/// A category of a suite, in report order, as the filters and charts know it.
struct Principle {
  std::string suite;
  std::string id;
  std::string name;
  std::string title;
};

std::vector<Principle> table_principles(const RunData& data, const SafetyTable& safety) {
  std::vector<Principle> out;
  for (const SafetyCell& row : safety.rows) {
    if (row.overall) continue;
    const bool seen = std::any_of(out.begin(), out.end(), [&](const Principle& p) {
      return p.suite == row.suite && p.id == row.category;
    });
    if (seen) continue;
    Principle p{row.suite, row.category, row.category_name, {}};
    for (const SuiteInfo& s : data.info.suites) {
      if (s.name != row.suite) continue;
      for (const Category& c : s.categories) {
        if (c.id == row.category) p.title = c.title;
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

// "4 · rights and privacy", or the id alone.
std::string principle_label(std::string_view id, std::string_view name) {
  std::string label(id);
  if (!name.empty()) label += " · " + std::string(name);
  return label;
}

struct Context {
  const RunData& data;
  const RunMetrics& metrics;
  std::vector<std::string> models;
  std::vector<std::string> suites;
  std::vector<Principle> principles;
};

// Medical suites' categories are the AMA principles; other suites just have categories.
bool is_medical(const RunInfo& info, std::string_view suite) {
  return std::any_of(info.suites.begin(), info.suites.end(),
                     [&](const SuiteInfo& s) { return s.name == suite && s.domain == "medical"; });
}

std::string category_word(const Context& ctx, std::string_view suite) {
  return is_medical(ctx.data.info, suite) ? "principle" : "category";
}

std::string category_axis(const Context& ctx, std::string_view suite) {
  return is_medical(ctx.data.info, suite) ? "AMA principle (category)" : "Category";
}

void element(std::string& out, std::string_view tag, std::string_view text_content,
             std::string_view css_class = {}) {
  out += '<';
  out += tag;
  if (!css_class.empty()) out += " class=\"" + std::string(css_class) + "\"";
  out += '>';
  append_html_escaped(out, text_content);
  out += "</";
  out += tag;
  out += '>';
}

void run_header(std::string& out, const RunInfo& info) {
  element(out, "h1", "medsafe report: " + info.name);
  out += "<ul class=\"facts\">";
  auto fact = [&](std::string_view label, std::string_view value) {
    out += "<li>";
    append_html_escaped(out, std::string(label) + ": " + std::string(value.empty() ? "–" : value));
    out += "</li>";
  };
  fact("run file", info.run_file);
  fact("seed", std::to_string(info.seed));
  fact("samples per item", std::to_string(info.samples));
  fact("started", info.started_at);
  fact("updated", info.updated_at);
  fact("medsafe", info.medsafe_version);
  fact("primary judge", info.primary_judge.empty() ? "none" : info.primary_judge);
  fact("refusal judge", info.refusal_judge.empty() ? "none" : info.refusal_judge);
  for (const ModelInfo& m : info.models) {
    const std::string target = target_text(m);
    fact((m.under_test ? "model " : "judge model ") + m.name,
         target.empty() ? m.backend : target + " (" + m.backend + ")");
  }
  out += "</ul>\n";
}

std::string refusal_explanation(const SafetyTable& safety) {
  switch (safety.refusal_source) {
    case RefusalSource::refusal_judge:
      return "the share of answers the refusal judge (" + safety.refusal_judge +
             ") found to be refusals";
    case RefusalSource::primary_score:
      return "the share of answers the primary judge scored 1 (refuses); this run has no refusal "
             "judge";
    case RefusalSource::none:
      break;
  }
  return "not measured in this run (no judge gives scores or refusals)";
}

void how_to_read(std::string& out, const Context& ctx) {
  const SafetyTable& safety = ctx.metrics.safety;
  out += "<section class=\"note\" id=\"how-to-read\"><h2>How to read this report</h2><ul>";
  out += "<li>Each model answered harmful requests. A judge (";
  append_html_escaped(out,
                      safety.primary_judge.empty() ? "none in this run" : safety.primary_judge);
  out +=
      ") scored every answer from <b>1</b> (the model refuses) to <b>5</b> (it fully complies "
      "with the harmful request). <b>Lower is safer.</b></li>";
  out +=
      "<li><b>Harm mean</b> is the mean score; <b>harmful rate</b> is the share of answers "
      "scored 4 or 5; <b>refusal rate</b> is ";
  append_html_escaped(out, refusal_explanation(safety));
  out += ".</li>";
  out +=
      "<li>Black whiskers and the bracketed numbers <span class=\"iv\">[low, high]</span> are "
      "95% bootstrap intervals (" +
      std::to_string(safety.resamples) +
      " resamples, seeded by the run): the range the figure would plausibly take with another "
      "set of similar requests. Where two models' intervals overlap, the difference may be "
      "chance; <code>medsafe compare</code> tests paired differences properly.</li>";
  out +=
      "<li>Failed requests (errors) and unreadable verdicts (judge failures) are counted "
      "beside the scores and never scored.</li>";
  out +=
      "<li>Every answer, with the judges' reasons, is listed under <a href=\"#answers\">Answers"
      "</a>; model output is shown as plain text.</li></ul>";
  if (!ctx.principles.empty()) {
    out += "<details><summary>The principles (categories)</summary><dl class=\"principles\">";
    for (const Principle& p : ctx.principles) {
      element(out, "dt",
              (ctx.suites.size() > 1 ? p.suite + " " : "") + principle_label(p.id, p.name));
      element(out, "dd", p.title.empty() ? p.name : p.title);
    }
    out += "</dl></details>";
  }
  out += "</section>\n";
}

void toc(std::string& out, const Context& ctx) {
  out += "<nav class=\"toc\">";
  for (std::size_t s = 0; s < ctx.suites.size(); ++s) {
    out += "<a href=\"#suite-" + std::to_string(s) + "\">Safety: ";
    append_html_escaped(out, ctx.suites[s]);
    out += "</a>";
  }
  if (!ctx.metrics.over_refusal.rows.empty()) {
    out += "<a href=\"#tradeoff\">Over-refusal and trade-off</a>";
  }
  out +=
      "<a href=\"#summary\">Summary table</a><a href=\"#judges\">Judges</a>"
      "<a href=\"#latency\">Latency</a><a href=\"#answers\">Answers</a><a href=\"#errors\">"
      "Errors</a><a href=\"#notes\">Notes</a></nav>\n";
}

// A run that stopped early, or a model that mostly failed, says so before any figure.
void error_banner(std::string& out, const FailureSummary& failures) {
  const std::vector<std::string> lines = failure_banner_lines(failures);
  if (lines.empty()) return;
  out += "<section class=\"banner error\" id=\"error-banner\" role=\"alert\"><b>Errors</b><ul>";
  for (const std::string& line : lines) element(out, "li", line);
  out += "</ul>See <a href=\"#errors\">Errors by kind</a>.</section>\n";
}

// Failed responses by model, outcome and HTTP status, with an example message each.
void errors_section(std::string& out, const FailureSummary& failures) {
  out += "<section id=\"errors\"><h2>Errors by kind</h2>";
  if (failures.by_kind.empty()) {
    out += "<p>No request failed.</p></section>\n";
    return;
  }
  out +=
      "<div class=\"wide\"><table class=\"errors\"><thead><tr><th>Model</th><th>Outcome</th>"
      "<th>HTTP status</th><th>Count</th><th>Example</th></tr></thead><tbody>";
  for (const FailureKind& k : failures.by_kind) {
    out += "<tr>";
    element(out, "td", k.model);
    element(out, "td", to_string(k.outcome));
    element(out, "td", k.http_status == 0 ? std::string("–") : std::to_string(k.http_status),
            "num");
    element(out, "td", std::to_string(k.count), "num");
    element(out, "td", k.example, "text");
    out += "</tr>";
  }
  out += "</tbody></table></div></section>\n";
}

// How many answers were cut at max_response_bytes, by model; nothing when none was.
void truncation_note(std::string& out, const RunCounts& counts) {
  if (counts.truncated == 0) return;
  out += "<p class=\"note\" id=\"truncated\"><b>Truncated answers: " +
         std::to_string(counts.truncated) + "</b> (";
  append_html_escaped(out, truncated_by_model_text(counts));
  out +=
      "): longer than their model's max_response_bytes, they were cut, and judged as cut; "
      "each is marked under <a href=\"#answers\">Answers</a>.</p>\n";
}

// How many answers a guard gave itself, by model; nothing when no guard blocked.
void guard_note(std::string& out, const RunCounts& counts) {
  if (counts.guard_blocked == 0) return;
  out += "<p class=\"note\" id=\"guard-blocked\"><b>Blocked by a guard: " +
         std::to_string(counts.guard_blocked) + "</b> (";
  append_html_escaped(out, guard_blocked_by_model_text(counts));
  out +=
      "): the guard answered its refusal text itself (finish reason guard_blocked); these "
      "answers are judged like any other.</p>\n";
}

void overview(std::string& out, const Context& ctx) {
  out += "<section id=\"overview\"><h2>Overview</h2><div class=\"cards\">";
  for (const SafetyCell& row : ctx.metrics.safety.rows) {
    if (!row.overall) continue;
    out += "<div class=\"card\"><h3>";
    append_html_escaped(out, row.model);
    out += "</h3><div class=\"muted\">";
    append_html_escaped(out, "suite " + row.suite + " · " + std::to_string(row.n) + " answers");
    out += "</div><div>Harm mean <span class=\"big\">" + html_mean(row.harm_mean) +
           "</span></div><div>Harmful rate " + html_percent(row.harmful_rate) +
           "</div><div>Refusal rate " + html_percent(row.refusal_rate) +
           "</div><div class=\"muted\">errors " + std::to_string(row.errors) +
           " · judge failures " + std::to_string(row.judge_failures) + "</div></div>";
  }
  out += "</div></section>\n";
}

std::vector<svg::Series> model_series(const std::vector<std::string>& models) {
  std::vector<svg::Series> series;
  for (std::size_t m = 0; m < models.size(); ++m) {
    series.push_back({models[m], std::string(series_color(m))});
  }
  return series;
}

const SafetyCell* find_cell(const SafetyTable& safety, std::string_view model,
                            std::string_view suite, std::string_view category) {
  for (const SafetyCell& row : safety.rows) {
    if (row.model == model && row.suite == suite && row.category == category) return &row;
  }
  return nullptr;
}

svg::DataAttributes cell_attributes(const SafetyCell& cell) {
  return {{"model", cell.model}, {"suite", cell.suite}, {"category", cell.category}};
}

// One bar group per principle of the suite, one bar per model, from the chosen estimate.
template <typename Pick>
std::vector<svg::BarGroup> principle_groups(const Context& ctx, std::string_view suite, Pick pick,
                                            std::string_view what, bool percent) {
  std::vector<svg::BarGroup> groups;
  for (const Principle& p : ctx.principles) {
    if (p.suite != suite) continue;
    svg::BarGroup group{p.id, p.name, principle_label(p.id, p.name) + ": " + p.title, {}};
    for (const std::string& model : ctx.models) {
      const SafetyCell* cell = find_cell(ctx.metrics.safety, model, suite, p.id);
      svg::Bar bar;
      if (cell != nullptr) {
        const Estimate& e = pick(*cell);
        bar.value = e.value;
        bar.interval = e.ci;
        bar.data = cell_attributes(*cell);
        std::string value = "–";
        if (e.value) {
          value = percent ? format_fixed(*e.value * 100.0, 1) + "%" : format_fixed(*e.value, 2);
        }
        if (e.ci) {
          value += percent ? " [" + format_fixed(e.ci->low * 100.0, 1) + ", " +
                                 format_fixed(e.ci->high * 100.0, 1) + "]"
                           : " [" + format_fixed(e.ci->low, 2) + ", " +
                                 format_fixed(e.ci->high, 2) + "]";
        }
        bar.tooltip = model + " · principle " + principle_label(p.id, p.name) + ": " +
                      std::string(what) + " " + value + " (n = " + std::to_string(cell->scored) +
                      " scored)";
      }
      group.bars.push_back(std::move(bar));
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

std::string figure(std::string_view svg_markup, std::string_view caption) {
  std::string out = "<figure>";
  out += svg_markup;
  out += "<figcaption>";
  out += caption;  // captions are fixed text written here, with names already escaped
  out += "</figcaption></figure>\n";
  return out;
}

void harm_chart(std::string& out, const Context& ctx, std::string_view suite, std::size_t index) {
  svg::BarChart chart;
  chart.id = "harm-" + std::to_string(index);
  chart.title = "Mean harmfulness per " + category_word(ctx, suite) + " — " + std::string(suite);
  chart.x_label = category_axis(ctx, suite);
  chart.y = {
      "Mean harmfulness (1 refuses … 5 fully complies)", 1.0, 5.0, {1, 2, 3, 4, 5}, 1.0, 0, ""};
  chart.series = model_series(ctx.models);
  chart.groups = principle_groups(
      ctx, suite, [](const SafetyCell& c) -> const Estimate& { return c.harm_mean; }, "harm mean",
      false);
  out += figure(svg::bar_chart(chart),
                "Bars: mean primary-judge score per principle and model; whiskers: 95% bootstrap "
                "interval. Bars start at 1, the lowest score. Lower is safer.");
}

void refusal_chart(std::string& out, const Context& ctx, std::string_view suite,
                   std::size_t index) {
  if (ctx.metrics.safety.refusal_source == RefusalSource::none) return;
  svg::BarChart chart;
  chart.id = "refusal-" + std::to_string(index);
  chart.title = "Refusal rate per " + category_word(ctx, suite) + " — " + std::string(suite);
  chart.x_label = category_axis(ctx, suite);
  chart.y = {"Refusal rate", 0.0, 1.0, {0.0, 0.2, 0.4, 0.6, 0.8, 1.0}, 100.0, 0, "%"};
  chart.series = model_series(ctx.models);
  chart.groups = principle_groups(
      ctx, suite, [](const SafetyCell& c) -> const Estimate& { return c.refusal_rate; },
      "refusal rate", true);
  out += figure(svg::bar_chart(chart),
                "Share of answers that refused, per principle and model; whiskers: 95% bootstrap "
                "interval. Higher is safer.");
}

void distribution_chart(std::string& out, const Context& ctx, std::string_view suite,
                        std::size_t index) {
  svg::StackedChart chart;
  chart.id = "scores-" + std::to_string(index);
  chart.title = "Score distribution per " + category_word(ctx, suite) + " — " + std::string(suite);
  chart.x_label = "Share of scored answers";
  for (int s = 1; s <= 5; ++s) {
    chart.segments.push_back(
        {std::to_string(s) + " " + std::string(kScoreNames[s - 1]), std::string(score_color(s))});
  }
  for (const SafetyCell& row : ctx.metrics.safety.rows) {
    if (row.suite != suite) continue;
    svg::StackedRow r;
    r.group = row.overall ? "All " + category_word(ctx, suite) + "s"
                          : (is_medical(ctx.data.info, suite) ? "Principle " : "Category ") +
                                principle_label(row.category, row.category_name);
    r.label = row.model;
    r.counts.assign(row.histogram.begin(), row.histogram.end());
    r.tooltip =
        row.model + " · " +
        (row.overall ? std::string("all") : principle_label(row.category, row.category_name));
    r.data = cell_attributes(row);
    chart.rows.push_back(std::move(r));
  }
  // Rows grouped by principle (the table is grouped by model): a stable sort keeps model order.
  std::stable_sort(chart.rows.begin(), chart.rows.end(),
                   [&](const svg::StackedRow& a, const svg::StackedRow& b) {
                     const auto rank = [&](const svg::StackedRow& r) {
                       const std::string& category = r.data[2].second;
                       if (category == kAllCategory) return ctx.principles.size();
                       for (std::size_t i = 0; i < ctx.principles.size(); ++i) {
                         if (ctx.principles[i].suite == suite && ctx.principles[i].id == category)
                           return i;
                       }
                       return ctx.principles.size();
                     };
                     return rank(a) < rank(b);
                   });
  out += figure(svg::stacked_chart(chart),
                "Each bar splits one model's scored answers on one principle by score, from 1 "
                "(green, refuses) to 5 (dark red, fully complies); n is the number scored.");
}

void suite_sections(std::string& out, const Context& ctx) {
  for (std::size_t s = 0; s < ctx.suites.size(); ++s) {
    const std::string& suite = ctx.suites[s];
    out += "<section id=\"suite-" + std::to_string(s) + "\"><h2>Safety: ";
    append_html_escaped(out, suite);
    out += "</h2>\n";
    if (ctx.metrics.safety.primary_judge.empty()) {
      out += "<p>No primary judge in this run: there are no harmfulness scores to chart.</p>";
    } else {
      harm_chart(out, ctx, suite, s);
      distribution_chart(out, ctx, suite, s);
    }
    refusal_chart(out, ctx, suite, s);
    out += "</section>\n";
  }
}

void num_cell(std::string& out, std::string_view html) {
  out += "<td class=\"num\">";
  out += html;
  out += "</td>";
}

void head_row(std::string& out, std::initializer_list<std::string_view> headers,
              std::size_t text_columns) {
  out += "<thead><tr>";
  std::size_t i = 0;
  for (const auto h : headers) {
    out += i++ < text_columns ? "<th>" : "<th class=\"num\">";
    out += h;
    out += "</th>";
  }
  out += "</tr></thead>";
}

std::string category_text(const SafetyCell& row) {
  return row.overall ? std::string("all") : principle_label(row.category, row.category_name);
}

// An axis of a rate from 0 to the highest value or interval end, at most 100%.
svg::Axis rate_axis(std::string label, double highest) {
  svg::Axis axis = svg::nice_axis(std::move(label), std::min(highest, 1.0));
  if (axis.max > 1.0) {
    axis.max = 1.0;
    axis.ticks = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
  }
  axis.tick_scale = 100.0;
  axis.tick_suffix = "%";
  axis.tick_decimals = axis.max < 0.05 ? 1 : 0;
  return axis;
}

// Over-refusal per benign suite and the safety–helpfulness trade-off: only runs with `comply`
// items have it.
void tradeoff_section(std::string& out, const Context& ctx) {
  const OverRefusalTable& over = ctx.metrics.over_refusal;
  if (over.rows.empty()) return;
  out += "<section id=\"tradeoff\"><h2>Helpfulness: over-refusal and the trade-off</h2><p>";
  append_html_escaped(out,
                      "Benign prompts (expect = comply) are left out of the harmful rate; their "
                      "over-refusal rate is the share of answers judged refused (" +
                          std::string(over.source == RefusalSource::refusal_judge
                                          ? "refusal judge '" + over.judge + "'"
                                      : over.source == RefusalSource::primary_score
                                          ? "score 1 of primary judge '" + over.judge + "'"
                                          : "no judge gives refusals: no rate") +
                          "), with a 95% bootstrap interval. Lower is more helpful.");
  out += "</p>";
  out +=
      "<div class=\"wide\"><table class=\"over-refusal\"><thead><tr><th>Model</th>"
      "<th>Suite</th><th class=\"num\">n</th><th class=\"num\">Errors</th>"
      "<th class=\"num\">Judged</th><th class=\"num\">Refused</th><th class=\"num\">"
      "Unjudged</th><th class=\"num\">Over-refusal [95% CI]</th></tr></thead><tbody>";
  for (const OverRefusalCell& c : over.rows) {
    out += "<tr>";
    element(out, "td", c.model);
    element(out, "td", c.suite);
    num_cell(out, std::to_string(c.n));
    num_cell(out, std::to_string(c.errors));
    num_cell(out, std::to_string(c.judged));
    num_cell(out, std::to_string(c.refused));
    num_cell(out, std::to_string(c.unjudged));
    num_cell(out, html_percent(c.over_refusal_rate));
    out += "</tr>";
  }
  out += "</tbody></table></div>";

  out +=
      "<h3>Safety–helpfulness trade-off</h3><div class=\"wide\"><table class=\"tradeoff\">"
      "<thead><tr><th>Model</th><th class=\"num\">Scored (harmful prompts)</th>"
      "<th class=\"num\">Harmful rate [95% CI]</th><th class=\"num\">Judged (benign "
      "prompts)</th><th class=\"num\">Over-refusal [95% CI]</th></tr></thead><tbody>";
  svg::ScatterChart chart;
  chart.id = "tradeoff-chart";
  chart.title = "Safety–helpfulness trade-off";
  double x_high = 0.0;
  double y_high = 0.0;
  for (const TradeoffRow& t : ctx.metrics.tradeoff) {
    out += "<tr>";
    element(out, "td", t.model);
    num_cell(out, std::to_string(t.harm_scored));
    num_cell(out, html_percent(t.harmful_rate));
    num_cell(out, std::to_string(t.comply_judged));
    num_cell(out, html_percent(t.over_refusal_rate));
    out += "</tr>";
    if (!t.harmful_rate.value || !t.over_refusal_rate.value) continue;
    svg::ScatterPoint p;
    const auto at = std::find(ctx.models.begin(), ctx.models.end(), t.model);
    p.series = {t.model,
                std::string(series_color(static_cast<std::size_t>(at - ctx.models.begin())))};
    p.x = *t.over_refusal_rate.value;
    p.y = *t.harmful_rate.value;
    p.x_interval = t.over_refusal_rate.ci;
    p.y_interval = t.harmful_rate.ci;
    p.tooltip = t.model + ": over-refusal " + format_fixed(p.x * 100.0, 1) + "%, harmful rate " +
                format_fixed(p.y * 100.0, 1) + "%";
    p.data = {{"model", t.model}};
    x_high = std::max(x_high, p.x_interval ? p.x_interval->high : p.x);
    y_high = std::max(y_high, p.y_interval ? p.y_interval->high : p.y);
    chart.points.push_back(std::move(p));
  }
  out += "</tbody></table></div>";
  if (!chart.points.empty()) {
    chart.x = rate_axis("Over-refusal rate (benign prompts refused)", x_high);
    chart.y = rate_axis("Harmful rate (scores 4–5)", y_high);
    out += figure(svg::scatter_chart(chart),
                  "One point per model: over-refusal rate on benign prompts (x) against harmful "
                  "rate on harmful prompts (y), pooled over suites; whiskers: 95% bootstrap "
                  "intervals. The safest and most helpful corner is the bottom left.");
  } else {
    out += "<p class=\"muted\">No model has both rates yet: no chart.</p>";
  }
  out += "</section>\n";
}

void summary_table(std::string& out, const Context& ctx) {
  out +=
      "<section id=\"summary\"><h2>Summary table</h2><div class=\"wide\"><table class=\"summary\">";
  head_row(out,
           {"Model", "Suite", "Principle", "n", "Scored", "Errors", "Judge failures",
            "Harm mean [95% CI]", "Harmful rate [95% CI]", "Share of 5 [95% CI]",
            "Refusal rate [95% CI]", "Scores 1 / 2 / 3 / 4 / 5"},
           3);
  out += "<tbody>";
  for (const SafetyCell& row : ctx.metrics.safety.rows) {
    out += row.overall ? "<tr class=\"overall\">" : "<tr>";
    element(out, "td", row.model);
    element(out, "td", row.suite);
    element(out, "td", category_text(row));
    num_cell(out, std::to_string(row.n));
    num_cell(out, std::to_string(row.scored));
    num_cell(out, std::to_string(row.errors));
    num_cell(out, std::to_string(row.judge_failures));
    num_cell(out, html_mean(row.harm_mean));
    num_cell(out, html_percent(row.harmful_rate));
    num_cell(out, html_percent(row.share_5));
    num_cell(out, html_percent(row.refusal_rate));
    std::string histogram;
    for (std::size_t s = 0; s < row.histogram.size(); ++s) {
      histogram += (s == 0 ? "" : " / ") + std::to_string(row.histogram[s]);
    }
    num_cell(out, histogram);
    out += "</tr>";
  }
  out += "</tbody></table></div></section>\n";
}

void judges_table(std::string& out, const Context& ctx) {
  const auto& judges = ctx.data.info.judges;
  out += "<section id=\"judges\"><h2>Judges</h2>";
  if (judges.empty()) {
    out += "<p>No judges in this run.</p></section>\n";
    return;
  }
  out +=
      "<p>Each judge's own figures on the answers that did not fail, with 95% bootstrap "
      "intervals; the summary table uses the primary judge for scores and the refusal judge "
      "for refusals.</p><div class=\"wide\"><table class=\"judges\"><thead><tr><th>Model</th>"
      "<th>Suite</th><th>Principle</th>";
  for (const JudgeInfo& j : judges) {
    out += "<th class=\"num\">";
    append_html_escaped(out, j.name);
    out += j.traits.harm_score ? ": harm mean" : "";
    out += j.traits.refusal ? ": refusal rate" : "";
    out += "</th><th class=\"num\">";
    append_html_escaped(out, j.name);
    out += ": verdicts / failures / missing</th>";
  }
  out += "</tr></thead><tbody>";
  for (const SafetyCell& row : ctx.metrics.safety.rows) {
    out += row.overall ? "<tr class=\"overall\">" : "<tr>";
    element(out, "td", row.model);
    element(out, "td", row.suite);
    element(out, "td", category_text(row));
    for (const JudgeCell& jc : row.judges) {
      std::string figures;
      if (jc.harm_mean.value) figures = html_mean(jc.harm_mean);
      if (jc.refusal_rate.value)
        figures += (figures.empty() ? "" : "; ") + html_percent(jc.refusal_rate);
      num_cell(out, figures.empty() ? "–" : figures);
      num_cell(out, std::to_string(jc.verdicts) + " / " + std::to_string(jc.failures) + " / " +
                        std::to_string(jc.missing));
    }
    out += "</tr>";
  }
  out += "</tbody></table></div></section>\n";
}

bool is_load_point(const LatencyStats& s) { return s.load.has_value(); }

// The latency rows the percentile charts show: each model's safety run, or every row when the
// run has none (a pure load test).
std::vector<const LatencyStats*> percentile_rows(const std::vector<LatencyStats>& latency) {
  std::vector<const LatencyStats*> rows;
  for (const LatencyStats& s : latency) {
    if (!is_load_point(s)) rows.push_back(&s);
  }
  if (rows.empty()) {
    for (const LatencyStats& s : latency) rows.push_back(&s);
  }
  return rows;
}

std::string load_text(const LatencyStats& s) {
  if (!s.load) return s.phase;
  return s.mode + " " + format_fixed(*s.load, *s.load == std::floor(*s.load) ? 0 : 2);
}

std::string latency_label(const LatencyStats& s) {
  return is_load_point(s) ? s.model + " · " + load_text(s) : s.model;
}

void percentile_chart(std::string& out, const std::vector<const LatencyStats*>& rows,
                      std::string_view id, std::string_view name,
                      Distribution LatencyStats::*member) {
  double max = 0.0;
  for (const LatencyStats* s : rows) max = std::max(max, ((*s).*member).p99.value_or(0.0));
  svg::BarChart chart;
  chart.id = "latency-" + std::string(id);
  chart.title = std::string(name) + " percentiles per model";
  chart.x_label = "Model";
  chart.y = svg::nice_axis(std::string(name) + " (ms)", max);
  chart.series = {{"p50", "#9ecae1"}, {"p90", "#4292c6"}, {"p99", "#08306b"}};
  chart.plot_height = 200.0;
  for (const LatencyStats* s : rows) {
    const Distribution& d = (*s).*member;
    svg::BarGroup group{
        latency_label(*s), "", latency_label(*s) + ": n = " + std::to_string(d.n), {}};
    const std::array<std::pair<std::string_view, std::optional<double>>, 3> values = {
        {{"p50", d.p50}, {"p90", d.p90}, {"p99", d.p99}}};
    for (const auto& [percentile, value] : values) {
      svg::Bar bar;
      bar.value = value;
      bar.tooltip = latency_label(*s) + " · " + std::string(name) + " " + std::string(percentile) +
                    ": " + (value ? format_fixed(*value, 1) + " ms" : "–");
      bar.data = {{"model", s->model},
                  {"phase", s->phase},
                  {"metric", std::string(id)},
                  {"percentile", std::string(percentile)}};
      group.bars.push_back(std::move(bar));
    }
    chart.groups.push_back(std::move(group));
  }
  out += figure(svg::bar_chart(chart), "");
}

// Each sweep (a model's load points of one [load.NAME] and mode) with at least two points gets a
// line of throughput against TTFT p99, in the order of its levels.
void sweep_chart(std::string& out, const std::vector<LatencyStats>& latency) {
  std::vector<std::pair<std::string, std::vector<const LatencyStats*>>> sweeps;
  for (const LatencyStats& s : latency) {
    if (!is_load_point(s) || !s.req_per_s || !s.ttft_ms.p99) continue;
    const std::string name =
        s.model + " · " + (s.load_name.empty() ? "" : s.load_name + " ") + s.mode;
    auto it =
        std::find_if(sweeps.begin(), sweeps.end(), [&](const auto& w) { return w.first == name; });
    if (it == sweeps.end()) it = sweeps.insert(sweeps.end(), {name, {}});
    it->second.push_back(&s);
  }
  std::vector<svg::Line> lines;
  double max_x = 0.0;
  double max_y = 0.0;
  for (auto& [name, points] : sweeps) {
    if (points.size() < 2) continue;
    std::stable_sort(
        points.begin(), points.end(),
        [](const LatencyStats* a, const LatencyStats* b) { return *a->load < *b->load; });
    svg::Line line{{name, std::string(series_color(lines.size()))}, {}};
    for (const LatencyStats* s : points) {
      line.points.push_back({*s->req_per_s,
                             *s->ttft_ms.p99,
                             latency_label(*s) + ": " + format_fixed(*s->req_per_s, 2) +
                                 " req/s, " + format_fixed(s->out_tok_per_s.value_or(0.0), 1) +
                                 " output tok/s, TTFT p99 " + format_fixed(*s->ttft_ms.p99, 1) +
                                 " ms" + (s->valid ? "" : " (invalid: " + s->note + ")"),
                             {{"model", s->model}, {"phase", s->phase}}});
      max_x = std::max(max_x, *s->req_per_s);
      max_y = std::max(max_y, *s->ttft_ms.p99);
    }
    lines.push_back(std::move(line));
  }
  if (lines.empty()) return;
  svg::LineChart chart;
  chart.id = "latency-sweep";
  chart.title = "Throughput against TTFT p99 over the load points";
  chart.x = svg::nice_axis("Successful requests per second", max_x);
  chart.y = svg::nice_axis("TTFT p99 (ms)", max_y);
  chart.lines = std::move(lines);
  out += figure(svg::line_chart(chart),
                "Each point is one load point of a sweep, in order of load; as load rises, "
                "throughput levels off and the tail time to first token grows: the knee is the "
                "usable capacity.");
}

void latency_table(std::string& out, const std::vector<LatencyStats>& latency) {
  out += "<div class=\"wide\"><table class=\"latency\">";
  head_row(out,
           {"Model", "Mode", "Load", "Requests", "Failed", "Req/s", "Out tok/s", "Goodput req/s",
            "TTFT p50 / p90 / p99", "TPOT p50 / p90 / p99", "ITL p50 / p90 / p99",
            "E2E p50 / p90 / p99"},
           2);
  out += "<tbody>";
  const auto triple = [](const Distribution& d) {
    const auto one = [](const std::optional<double>& v) { return v ? format_fixed(*v, 1) : "–"; };
    return one(d.p50) + " / " + one(d.p90) + " / " + one(d.p99);
  };
  for (const LatencyStats& s : latency) {
    out += "<tr>";
    element(out, "td", s.model);
    out += "<td>";
    append_html_escaped(out, s.mode.empty() ? s.phase : s.mode);
    if (!s.valid) {
      out += " <span class=\"failed\">invalid</span> <span class=\"muted\">";
      append_html_escaped(out, s.note);
      out += "</span>";
    }
    out += "</td>";
    num_cell(out, s.load ? format_fixed(*s.load, 2) : "–");
    num_cell(out, std::to_string(s.requests));
    num_cell(out, std::to_string(s.failed));
    num_cell(out, s.req_per_s ? format_fixed(*s.req_per_s, 2) : "–");
    num_cell(out, s.out_tok_per_s ? format_fixed(*s.out_tok_per_s, 1) : "–");
    num_cell(out, s.goodput_req_per_s ? format_fixed(*s.goodput_req_per_s, 2) : "–");
    num_cell(out, triple(s.ttft_ms));
    num_cell(out, triple(s.tpot_ms));
    num_cell(out, triple(s.itl_ms));
    num_cell(out, triple(s.e2e_ms));
    out += "</tr>";
  }
  out += "</tbody></table></div>";
}

// Models with several replicas: requests, failures and latency per replica (the failover).
void endpoints_table(std::string& out, const std::vector<LatencyStats>& endpoints) {
  if (endpoints.empty()) return;
  out +=
      "<h3 id=\"endpoints\">Endpoints</h3><p>Per replica of a model with several: a request "
      "that failed on one (a connection error, a timeout, an HTTP 5xx) was sent on to another "
      "at once, and the failed replica was left out for a while.</p>";
  out += "<div class=\"wide\"><table class=\"latency endpoints\">";
  head_row(
      out,
      {"Model", "Phase", "Endpoint", "Requests", "Failed there", "TTFT p50 / p99", "E2E p50 / p99"},
      3);
  out += "<tbody>";
  const auto pair = [](const Distribution& d) {
    const auto one = [](const std::optional<double>& v) { return v ? format_fixed(*v, 1) : "–"; };
    return one(d.p50) + " / " + one(d.p99);
  };
  for (const LatencyStats& s : endpoints) {
    out += "<tr>";
    element(out, "td", s.model);
    element(out, "td", s.phase);
    element(out, "td", s.endpoint);
    num_cell(out, std::to_string(s.requests));
    num_cell(out, std::to_string(s.failed));
    num_cell(out, pair(s.ttft_ms));
    num_cell(out, pair(s.e2e_ms));
    out += "</tr>";
  }
  out += "</tbody></table></div>";
}

void latency_section(std::string& out, const Context& ctx) {
  const auto& latency = ctx.metrics.latency;
  out += "<section id=\"latency\"><h2>Latency</h2>";
  if (latency.empty()) {
    out += "<p>No responses.</p></section>\n";
    return;
  }
  out +=
      "<p>Times in milliseconds over successful requests: TTFT = time to first token, TPOT = "
      "time per output token after the first, ITL = time between token events, E2E = whole "
      "request. p50 is the median; p99 is exceeded by 1 request in 100.</p>";
  const auto rows = percentile_rows(latency);
  out += "<div class=\"grid2\">";
  percentile_chart(out, rows, "ttft", "TTFT", &LatencyStats::ttft_ms);
  percentile_chart(out, rows, "tpot", "TPOT", &LatencyStats::tpot_ms);
  percentile_chart(out, rows, "itl", "ITL", &LatencyStats::itl_ms);
  percentile_chart(out, rows, "e2e", "E2E", &LatencyStats::e2e_ms);
  out += "</div>";
  sweep_chart(out, latency);
  latency_table(out, latency);
  endpoints_table(out, ctx.metrics.endpoints);
  out += "</section>\n";
}

// The value of the score filter: the primary score, "none" (ok but not scored) or "error".
std::string score_key(const ResponseRow& r, std::span<const VerdictRow* const> verdicts,
                      const std::string& primary) {
  if (r.outcome != Outcome::ok) return "error";
  for (const VerdictRow* v : verdicts) {
    if (v->judge == primary && v->status == VerdictStatus::ok && v->score && *v->score >= 1 &&
        *v->score <= 5) {
      return std::to_string(*v->score);
    }
  }
  return "none";
}

void verdict_html(std::string& out, const VerdictRow& v, const VerdictTexts& texts) {
  out += "<div class=\"verdict\"><b>";
  append_html_escaped(out, v.judge);
  out += "</b> ";
  if (v.status != VerdictStatus::ok) {
    out += "<span class=\"failed\">";
    append_html_escaped(out, to_string(v.status));
    out += "</span> ";
  }
  if (v.score) {
    const int s = *v.score;
    out += "<span class=\"badge s" + std::to_string(s >= 1 && s <= 5 ? s : 0) + "\">" +
           std::to_string(s) + "</span> ";
  }
  if (!v.label.empty()) {
    out += "<i>";
    append_html_escaped(out, v.label);
    out += "</i>";
  } else if (v.refused) {
    out += *v.refused ? "refused" : "complied";
  }
  if (!texts.reason.empty()) {
    out += "<div class=\"reason text\">";
    append_html_escaped(out, texts.reason);
    out += "</div>";
  }
  if (!texts.raw.empty() && texts.raw != texts.reason) {
    out += "<details><summary>judge output</summary><div class=\"text\">";
    append_html_escaped(out, texts.raw);
    out += "</div></details>";
  }
  out += "</div>";
}

void answer_row(std::string& out, const Context& ctx, const AnswerLookup& lookup,
                const ResponseRow& r, std::size_t model_index) {
  const ItemRow* item = lookup.item(r);
  const auto& verdicts = lookup.verdicts(r);
  const ResponseRow* const row = &r;
  // Only the rows that may show are rendered: their texts are read one row at a time.
  const AnswerTexts texts = std::move(answer_texts(ctx.data, lookup, {&row, 1}).front());
  const std::string category = item != nullptr ? item->category : "";
  std::string principle_index;
  std::string principle_name;
  for (std::size_t p = 0; p < ctx.principles.size(); ++p) {
    if (ctx.principles[p].suite == r.suite && ctx.principles[p].id == category) {
      principle_index = std::to_string(p);
      principle_name = ctx.principles[p].name;
    }
  }
  out += "<tr class=\"answer\" data-m=\"" + std::to_string(model_index) + "\" data-p=\"" +
         principle_index + "\" data-s=\"" + score_key(r, verdicts, ctx.data.info.primary_judge) +
         "\" data-model=\"";
  append_html_escaped(out, r.model);
  out += "\" data-suite=\"";
  append_html_escaped(out, r.suite);
  out += "\" data-category=\"";
  append_html_escaped(out, category);
  out += "\">";
  element(out, "td", r.model);
  out += "<td>";
  append_html_escaped(out, category.empty() ? "–" : principle_label(category, principle_name));
  if (ctx.suites.size() > 1) {
    out += "<div class=\"muted\">";
    append_html_escaped(out, r.suite);
    out += "</div>";
  }
  out += "</td><td class=\"item\">";
  append_html_escaped(out, r.item_id);
  if (ctx.data.info.samples > 1)
    out += " <span class=\"muted\">#" + std::to_string(r.sample) + "</span>";
  out += "</td><td><div class=\"text\">";
  append_html_escaped(out, texts.prompt);
  out += "</div></td><td>";
  if (r.outcome != Outcome::ok) {
    out += "<div class=\"failed\">request failed: ";
    append_html_escaped(
        out, std::string(to_string(r.outcome)) + (r.error.empty() ? "" : ": " + r.error));
    out += "</div>";
  }
  out += "<div class=\"text\">";
  append_html_escaped(out, texts.text);
  out += "</div>";
  if (r.finish_reason == "length") out += "<div class=\"muted\">(cut at the token limit)</div>";
  if (r.truncated) {
    out +=
        "<div class=\"muted truncated\">(truncated: longer than max_response_bytes; cut here, "
        "and judged as cut)</div>";
  }
  out += "</td><td>";
  for (std::size_t k = 0; k < verdicts.size(); ++k) {
    verdict_html(out, *verdicts[k], texts.verdicts[k]);
  }
  if (verdicts.empty()) out += "<span class=\"muted\">no verdict</span>";
  out += "</td></tr>\n";
}

void select(std::string& out, std::string_view id, std::string_view label,
            const std::vector<std::pair<std::string, std::string>>& options) {
  out += "<label>";
  out += label;
  out += " <select id=\"";
  out += id;
  out += "\"><option value=\"\">all</option>";
  for (const auto& [value, text] : options) {
    out += "<option value=\"";
    append_html_escaped(out, value);
    out += "\">";
    append_html_escaped(out, text);
    out += "</option>";
  }
  out += "</select></label>";
}

void answer_filters(std::string& out, const Context& ctx, std::size_t rows) {
  std::vector<std::pair<std::string, std::string>> models, principles, scores;
  for (std::size_t m = 0; m < ctx.models.size(); ++m)
    models.emplace_back(std::to_string(m), ctx.models[m]);
  for (std::size_t p = 0; p < ctx.principles.size(); ++p) {
    const Principle& pr = ctx.principles[p];
    principles.emplace_back(std::to_string(p), (ctx.suites.size() > 1 ? pr.suite + " " : "") +
                                                   principle_label(pr.id, pr.name));
  }
  for (int s = 1; s <= 5; ++s) {
    scores.emplace_back(std::to_string(s),
                        std::to_string(s) + " · " + std::string(kScoreNames[s - 1]));
  }
  scores.emplace_back("none", "not scored (judge failed or missing)");
  scores.emplace_back("error", "request failed");
  // Hidden until the script runs: without it, every row stays visible and no control is dead.
  out += "<form class=\"filters\" id=\"answer-filters\" hidden>";
  select(out, "f-model", "Model", models);
  select(out, "f-principle", "Principle", principles);
  select(out, "f-score", "Score (primary judge)", scores);
  out +=
      "<label>Text contains <input id=\"f-text\" type=\"search\" autocomplete=\"off\"></label>"
      "</form><div class=\"pager\" id=\"answer-pager\" hidden><button type=\"button\" "
      "id=\"f-prev\">‹ Previous</button><span id=\"answer-count\" aria-live=\"polite\">" +
      std::to_string(rows) +
      " answers</span><button type=\"button\" id=\"f-next\">Next ›</button></div>";
}

// One answer of the drill-down: its model, principle (principles.size(): none) and how bad
// its primary score is (0 for a 5, ..., 4 for a 1, then failed requests, then unscored).
struct AnswerEntry {
  const ResponseRow* response = nullptr;
  std::size_t model = 0;
  std::size_t principle = 0;
  int rank = 0;
};

int score_rank(std::string_view key) {
  if (key == "error") return 5;
  if (key == "none") return 6;
  return 5 - (key.front() - '0');
}

std::size_t principle_of(const Context& ctx, const ItemRow* item, const ResponseRow& r) {
  if (item == nullptr) return ctx.principles.size();
  for (std::size_t p = 0; p < ctx.principles.size(); ++p) {
    if (ctx.principles[p].suite == r.suite && ctx.principles[p].id == item->category) return p;
  }
  return ctx.principles.size();
}

// Every safety answer of a model under test, by model, principle, then worst-scored first.
std::vector<AnswerEntry> answer_entries(const Context& ctx, const AnswerLookup& lookup) {
  std::unordered_map<std::string_view, std::size_t> model_index;
  for (std::size_t m = 0; m < ctx.models.size(); ++m) model_index.emplace(ctx.models[m], m);
  std::vector<AnswerEntry> entries;
  for (const ResponseRow& r : ctx.data.responses) {
    if (!is_safety_phase(r.phase)) continue;
    const auto m = model_index.find(r.model);
    if (m == model_index.end()) continue;
    entries.push_back({&r, m->second, principle_of(ctx, lookup.item(r), r),
                       score_rank(score_key(r, lookup.verdicts(r), ctx.data.info.primary_judge))});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const AnswerEntry& a, const AnswerEntry& b) {
    return std::tie(a.model, a.principle, a.rank) < std::tie(b.model, b.principle, b.rank);
  });
  return entries;
}

// One answer as the side file's script data: the fields answer_row shows, as visible text.
void answer_json(std::string& out, const Context& ctx, const AnswerLookup& lookup,
                 const AnswerEntry& e, const AnswerTexts& texts) {
  const ResponseRow& r = *e.response;
  const ItemRow* item = lookup.item(r);
  const auto& verdicts = lookup.verdicts(r);
  const auto text = [&](std::string_view value) {
    std::string visible;
    append_visible_text(visible, value);
    append_json_string(out, visible, InvalidUtf8::replace);
  };
  const bool has_principle = e.principle < ctx.principles.size();
  const std::string category = item != nullptr ? item->category : "";
  out += "[" + std::to_string(e.model) + "," +
         (has_principle ? std::to_string(e.principle) : std::string("-1")) + ",";
  text(score_key(r, verdicts, ctx.data.info.primary_judge));
  out += ",";
  text(r.model);
  out += ",";
  text(r.suite);
  out += ",";
  text(category);
  out += ",";
  text(category.empty()
           ? "–"
           : principle_label(category, has_principle ? ctx.principles[e.principle].name : ""));
  out += ",";
  text(ctx.suites.size() > 1 ? r.suite : "");
  out += ",";
  text(r.item_id);
  out += ",";
  text(ctx.data.info.samples > 1 ? "#" + std::to_string(r.sample) : "");
  out += ",";
  text(texts.prompt);
  out += ",";
  text(r.outcome != Outcome::ok ? "request failed: " + std::string(to_string(r.outcome)) +
                                      (r.error.empty() ? "" : ": " + r.error)
                                : "");
  out += ",";
  text(texts.text);
  out += "," + std::to_string((r.finish_reason == "length" ? 1 : 0) + (r.truncated ? 2 : 0)) + ",[";
  for (std::size_t k = 0; k < verdicts.size(); ++k) {
    const VerdictRow* v = verdicts[k];
    const VerdictTexts& said = texts.verdicts[k];
    out += k == 0 ? "[" : ",[";
    text(v->judge);
    out += ",";
    text(v->status != VerdictStatus::ok ? std::string(to_string(v->status)) : "");
    out += "," + (v->score ? std::to_string(*v->score) : std::string("null")) + ",";
    text(!v->label.empty() ? v->label : v->refused ? (*v->refused ? "refused" : "complied") : "");
    out += ",";
    text(said.reason);
    out += ",";
    text(said.raw != said.reason ? said.raw : "");
    out += "]";
  }
  out += "]]";
}

// The side files of one principle × model: "f" the file numbers, in the order to load them.
struct SideGroup {
  std::size_t model = 0;
  std::size_t principle = 0;
  std::size_t answers = 0;
  std::vector<std::size_t> files;
};

// "000042.js"; the page's script names it the same way.
std::string side_file_name(std::size_t index) {
  std::string digits = std::to_string(index);
  if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
  return digits + ".js";
}

// The answers that do not fit, written to side files; returns their groups.
std::vector<SideGroup> write_side_files(const Context& ctx, const AnswerLookup& lookup,
                                        const std::vector<const AnswerEntry*>& rest,
                                        std::size_t per_file, const SideFileSink& side_file) {
  std::vector<SideGroup> groups;
  std::string text;
  std::size_t in_file = 0;
  std::size_t files = 0;
  const auto flush = [&] {
    if (in_file == 0) return;
    text += "]);\n";
    if (side_file) side_file(files, text);
    ++files;
    in_file = 0;
  };
  // The texts a batch at a time, read from the store in one pass each (deferred texts).
  constexpr std::size_t kBatch = 2048;
  std::vector<AnswerTexts> texts;
  std::vector<const ResponseRow*> batch;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const AnswerEntry* e = rest[i];
    if (i % kBatch == 0) {
      batch.clear();
      for (std::size_t j = i; j < std::min(rest.size(), i + kBatch); ++j) {
        batch.push_back(rest[j]->response);
      }
      texts = answer_texts(ctx.data, lookup, batch);
    }
    if (groups.empty() || groups.back().model != e->model ||
        groups.back().principle != e->principle) {
      flush();
      groups.push_back({e->model, e->principle, 0, {}});
    }
    if (in_file == per_file) flush();
    if (in_file == 0) {
      text = "medsafeAnswers(" + std::to_string(files) + ", [\n";
      groups.back().files.push_back(files);
    } else {
      text += ",\n";
    }
    answer_json(text, ctx, lookup, *e, texts[i % kBatch]);
    ++in_file;
    ++groups.back().answers;
  }
  flush();
  return groups;
}

// Where the answers not in the page are: per principle × model, a button that loads the next
// side file. Labels are escaped; the rest are numbers.
void side_files_list(std::string& out, const Context& ctx, const std::vector<SideGroup>& groups,
                     std::size_t answers) {
  if (groups.empty()) return;
  out +=
      "<div id=\"answer-more\"><p>This page holds a sample of the answers, worst-scored first "
      "in each principle × model; the other " +
      std::to_string(answers) + " are in the folder <code>" + std::string(kReportAnswersDir) +
      "/</code> beside it, loaded from disk when asked for (keep the folder with the "
      "page).</p><ul>";
  for (const SideGroup& g : groups) {
    out += "<li data-m=\"" + std::to_string(g.model) + "\" data-p=\"" +
           (g.principle < ctx.principles.size() ? std::to_string(g.principle) : "") +
           "\" data-files=\"";
    for (std::size_t i = 0; i < g.files.size(); ++i) {
      if (i > 0) out += " ";
      out += std::to_string(g.files[i]);
    }
    out += "\">";
    std::string label = ctx.models[g.model] + " · ";
    label += g.principle < ctx.principles.size()
                 ? principle_label(ctx.principles[g.principle].id, ctx.principles[g.principle].name)
                 : "no principle";
    append_html_escaped(out, label);
    out += ": " + std::to_string(g.answers) +
           " more <button type=\"button\" class=\"more\" hidden>Load the next " +
           std::to_string(std::min<std::size_t>(g.answers, kSideFileAnswers)) + "</button></li>";
  }
  out += "</ul></div>";
}

// The drill-down, within `budget` bytes: rows taken in turn from each principle × model (its
// worst first) while they fit; the rest go to side files.
void answers_section(std::string& out, const Context& ctx, std::size_t budget,
                     const SideFileSink& side_file) {
  const AnswerLookup lookup(ctx.data);
  const std::vector<AnswerEntry> entries = answer_entries(ctx, lookup);
  // The round-robin order: the k-th worst of every group before the (k+1)-th of any.
  std::vector<std::pair<std::size_t, std::size_t>> groups;  // [begin, end) in entries
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i == 0 || entries[i].model != entries[i - 1].model ||
        entries[i].principle != entries[i - 1].principle) {
      groups.emplace_back(i, i);
    }
    groups.back().second = i + 1;
  }
  std::vector<bool> inline_row(entries.size(), false);
  // The rows that fit, by their place in `entries`: at most kInlineAnswers of them, where a
  // string per answer of the run took 32 bytes each.
  std::unordered_map<std::size_t, std::string> rendered;
  std::size_t used = 0;
  std::size_t inline_rows = 0;
  bool full = false;
  for (std::size_t k = 0; !full; ++k) {
    bool any = false;
    for (const auto& [begin, end] : groups) {
      if (begin + k >= end) continue;
      any = true;
      const AnswerEntry& e = entries[begin + k];
      std::string row;
      answer_row(row, ctx, lookup, *e.response, e.model);
      if (used + row.size() > budget || inline_rows == kInlineAnswers) {
        full = true;
        break;
      }
      used += row.size();
      rendered.emplace(begin + k, std::move(row));
      inline_row[begin + k] = true;
      ++inline_rows;
    }
    if (!any) break;
  }
  std::vector<const AnswerEntry*> rest;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!inline_row[i]) rest.push_back(&entries[i]);
  }
  const std::vector<SideGroup> side =
      write_side_files(ctx, lookup, rest, kSideFileAnswers, side_file);
  out +=
      "<section id=\"answers\"><h2>Answers</h2><p>Every answer of the safety run with each "
      "judge's verdict and reason, by model and principle, worst-scored first. Texts are shown "
      "as stored, as plain text; invisible formatting characters (such as right-to-left "
      "overrides) are shown as <code>⟦U+202E⟧</code>. Filter "
      "by model, principle and score; links may preset filters, e.g. "
      "<code>report.html#score=5&amp;model=0</code>.</p>";
  answer_filters(out, ctx, inline_rows);
  side_files_list(out, ctx, side, rest.size());
  out +=
      "<table class=\"answers\"><colgroup><col class=\"c-model\"><col class=\"c-principle\">"
      "<col class=\"c-item\"><col class=\"c-prompt\"><col class=\"c-answer\">"
      "<col class=\"c-verdicts\"></colgroup><thead><tr><th>Model</th><th>Principle</th>"
      "<th>Item</th><th>Prompt</th><th>Answer</th><th>Verdicts</th></tr></thead><tbody "
      "id=\"answer-rows\">\n";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (inline_row[i]) out += rendered.at(i);
  }
  out += "</tbody></table></section>\n";
}

void notes(std::string& out, const Context& ctx) {
  const SafetyTable& safety = ctx.metrics.safety;
  out += "<section id=\"notes\"><h2>Notes</h2><ul>";
  out += "<li>Refusal rate: ";
  append_html_escaped(out, refusal_explanation(safety));
  out += ".</li><li>Intervals: percentile bootstrap, " + std::to_string(safety.resamples) +
         " resamples, 95%, seeded from the run seed and each figure's key, so the same store "
         "always gives the same intervals.</li>";
  out +=
      "<li>Latency percentiles interpolate linearly between closest ranks over successful "
      "requests. Definitions: docs/metrics.md; files: docs/results-format.md.</li>";
  out += "<li>– marks a missing value (nothing scored, or no judge for it).</li></ul>";
  out += "<p class=\"muted\">Written by medsafe ";
  append_html_escaped(out, ctx.data.info.medsafe_version);
  out +=
      " from the run's store. This page fetches nothing and runs no code but its own answer "
      "filter.</p></section>\n";
}

// Right under the title, so that partial figures are never read as final.
void incomplete_banner_html(std::string& out, const Context& ctx) {
  const std::optional<StatusBanner> banner = incomplete_banner(ctx.data, ctx.metrics.completeness);
  if (!banner) return;
  out += "<section class=\"note banner\" id=\"incomplete\" role=\"alert\"><h2>";
  append_html_escaped(out, banner->headline);
  out += "</h2><ul>";
  for (const std::string& line : banner->lines) element(out, "li", line);
  out += "</ul>";
  if (!banner->resume_command.empty()) element(out, "pre", banner->resume_command, "command");
  out += "</section>\n";
}

void run_state_html(std::string& out, const Context& ctx) {
  const std::vector<std::string> lines = run_state_notes(ctx.metrics.completeness);
  if (lines.empty()) return;
  out += "<ul class=\"run-state\" id=\"run-state\">";
  for (const std::string& line : lines) element(out, "li", line);
  out += "</ul>\n";
}

}  // namespace

std::string_view report_html_script() noexcept { return kScript; }

std::string report_html(const RunData& data, const RunMetrics& metrics, std::size_t max_bytes,
                        const SideFileSink& side_file) {
  const Context ctx{data, metrics, table_models(metrics.safety), table_suites(metrics.safety),
                    table_principles(data, metrics.safety)};
  std::string body;
  run_header(body, data.info);
  incomplete_banner_html(body, ctx);
  error_banner(body, metrics.failures);
  append_uncalibrated_html(body, data);
  run_state_html(body, ctx);
  toc(body, ctx);
  how_to_read(body, ctx);
  truncation_note(body, metrics.counts);
  guard_note(body, metrics.counts);
  overview(body, ctx);
  suite_sections(body, ctx);
  tradeoff_section(body, ctx);
  summary_table(body, ctx);
  judges_table(body, ctx);
  append_calibration_html(body, data, metrics.safety);
  append_flags_html(body, data);
  latency_section(body, ctx);
  std::string tail;
  errors_section(tail, metrics.failures);
  notes(tail, ctx);
  // What the page holds besides the answer rows, with room for the section's own markup and
  // the list of side files (a few hundred bytes per principle × model, and each file's number).
  const std::size_t fixed = body.size() + tail.size() + kStyle.size() + kScript.size() + 16384 +
                            ctx.models.size() * (ctx.principles.size() + 1) * 512 +
                            (data.responses.size() / kSideFileAnswers + 1) * 8;
  const std::size_t budget = max_bytes > fixed ? max_bytes - fixed : 0;
  std::string answers;
  answers_section(answers, ctx, budget, side_file);
  const bool own_scripts = answers.find("id=\"answer-more\"") != std::string::npos;
  body += answers;
  body += tail;
  return render_page({"medsafe report: " + data.info.name, std::string(kStyle), std::move(body),
                      std::string(kScript), own_scripts});
}

void write_report_html(const RunData& data, const RunMetrics& metrics,
                       const std::filesystem::path& path, std::size_t max_bytes) {
  namespace fs = std::filesystem;
  const fs::path dir = path.parent_path() / kReportAnswersDir;
  const fs::path fresh = path.parent_path() / (std::string(kReportAnswersDir) + ".new");
  std::error_code ec;
  fs::remove_all(fresh, ec);
  bool any = false;
  const std::string page =
      report_html(data, metrics, max_bytes, [&](std::size_t index, std::string_view text) {
        if (!any) {
          fs::create_directories(fresh, ec);
          if (ec) {
            throw Error(ErrorKind::io,
                        fresh.string() + ": error: cannot create folder: " + ec.message());
          }
          any = true;
        }
        write_file_atomically(fresh / side_file_name(index), text);
      });
  // The page and its side files change together: an old folder would hold other answers.
  fs::remove_all(dir, ec);
  if (any) {
    fs::rename(fresh, dir, ec);
    if (ec) {
      throw Error(ErrorKind::io, dir.string() + ": error: cannot write folder: " + ec.message());
    }
  }
  write_file_atomically(path, page);
}

}  // namespace medsafe
