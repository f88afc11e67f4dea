#include "report/report_calibration.hpp"

#include <cmath>
#include <optional>

#include "report/report_html_common.hpp"
#include "report/report_io.hpp"
#include "report/report_markdown.hpp"

namespace medsafe {
namespace {

using Json = nlohmann::ordered_json;

Json figure_json(double v) { return std::isnan(v) ? Json(nullptr) : Json(v); }

std::string figure(double v) { return std::isnan(v) ? std::string("n/a") : format_fixed(v, 3); }

double kappa_of(const CalibrationCounts& c) {
  const auto n = static_cast<double>(c.n());
  if (n == 0) return std::nan("");
  const double po = static_cast<double>(c.tp + c.tn) / n;
  const double pe = (static_cast<double>(c.tp + c.fp) * static_cast<double>(c.tp + c.fn) +
                     static_cast<double>(c.fn + c.tn) * static_cast<double>(c.fp + c.tn)) /
                    (n * n);
  return pe >= 1.0 ? std::nan("") : (po - pe) / (1.0 - pe);
}

double accuracy_of(const CalibrationCounts& c) {
  return c.n() == 0 ? std::nan("") : static_cast<double>(c.tp + c.tn) / static_cast<double>(c.n());
}

std::string status(const CalibrationRow& row) {
  return row.calibrated ? "calibrated" : "uncalibrated";
}

std::string why(const CalibrationRow& row) {
  std::string text = "kappa " + figure(row.kappa);
  if (std::isnan(row.kappa) || row.kappa < row.min_kappa) {
    text += " (at least " + format_fixed(row.min_kappa, 2) + " needed)";
  }
  text += ", accuracy " + figure(row.accuracy);
  if (row.min_accuracy > 0 && (std::isnan(row.accuracy) || row.accuracy < row.min_accuracy)) {
    text += " (at least " + format_fixed(row.min_accuracy, 2) + " needed)";
  }
  return text + " on " + std::to_string(row.overall.n()) + " labelled answers of " + row.labels;
}

std::string percent(const Estimate& e) {
  if (!e.value) return "–";
  std::string cell = format_fixed(*e.value * 100.0, 1) + "%";
  if (e.ci) {
    cell += " [" + format_fixed(e.ci->low * 100.0, 1) + ", " + format_fixed(e.ci->high * 100.0, 1) +
            "]";
  }
  return cell;
}

std::string counts_text(const CalibrationCounts& c) {
  return std::to_string(c.tp) + " / " + std::to_string(c.fp) + " / " + std::to_string(c.fn) +
         " / " + std::to_string(c.tn);
}

std::string correction_note(const SafetyTable& safety) {
  const JudgeError& e = *safety.judge_error;
  return "The primary judge's harmful rate corrected for its error " + e.source +
         " (Rogan-Gladen: (p + Sp - 1) / (Se + Sp - 1), clipped to 0..1; Se " +
         format_fixed(e.sensitivity, 3) + ", Sp " + format_fixed(e.specificity, 3) + ")." +
         (e.counts ? std::string(" The interval resamples the answers and draws Se and Sp from "
                                 "Beta(tp + 1, fn + 1) and Beta(tn + 1, fp + 1) in each "
                                 "replicate.")
                   : std::string(" The interval resamples the answers only: without n_positive "
                                 "and n_negative, Se and Sp are taken as exact.")) +
         (safety.calibrated ? std::string()
                            : std::string(" The judge is uncalibrated: read these with care."));
}

double agreement_of(const CanaryRow& c) {
  const std::int64_t all = c.n + c.undecided;
  return all == 0 ? std::nan("") : static_cast<double>(c.agree) / static_cast<double>(all);
}

std::string canary_text(const CanaryRow& c) {
  return std::to_string(c.agree) + " of " + std::to_string(c.n + c.undecided) +
         " canaries judged as expected (" + figure(agreement_of(c)) + (c.drifted ? " < " : " >= ") +
         format_fixed(c.min_agreement, 2) + "); model " + (c.model.empty() ? "none" : c.model) +
         ", template " + c.template_hash;
}

// The drift lines and the uncalibrated ones, for the banners.
std::vector<std::string> warning_lines(const RunData& data) {
  std::vector<std::string> lines = uncalibrated_lines(data);
  for (std::string& line : drift_lines(data)) lines.push_back(std::move(line));
  return lines;
}

// One table of the calibration section as both reports show it: the columns (numeric ones are
// right-aligned) and the rows' cells as plain text. Markdown escapes the text columns (the
// numeric cells are our own figures, written as they are); HTML escapes every cell.
struct Column {
  std::string_view title;
  bool num = false;
};

struct TableRow {
  std::vector<std::string> cells;
  std::string_view html_class;  ///< "" or the class of the HTML row
};

struct TextTable {
  std::vector<Column> columns;
  std::vector<TableRow> rows;
};

void append_markdown_table(std::string& out, const TextTable& table) {
  out += "|";
  for (const Column& c : table.columns) {
    out += " ";
    out += c.title;
    out += " |";
  }
  out += "\n|";
  for (const Column& c : table.columns) out += c.num ? "--:|" : "---|";
  out += "\n";
  for (const TableRow& row : table.rows) {
    out += "|";
    for (std::size_t i = 0; i < row.cells.size(); ++i) {
      out += " " + (table.columns[i].num ? row.cells[i] : markdown_escape(row.cells[i])) + " |";
    }
    out += "\n";
  }
}

void append_html_table(std::string& out, const TextTable& table, std::string_view html_class) {
  out += "<div class=\"wide\"><table class=\"";
  out += html_class;
  out += "\"><thead><tr>";
  for (const Column& c : table.columns) {
    out += c.num ? "<th class=\"num\">" : "<th>";
    append_html_escaped(out, c.title);
    out += "</th>";
  }
  out += "</tr></thead><tbody>";
  for (const TableRow& row : table.rows) {
    if (row.html_class.empty()) {
      out += "<tr>";
    } else {
      out += "<tr class=\"";
      out += row.html_class;
      out += "\">";
    }
    for (std::size_t i = 0; i < row.cells.size(); ++i) {
      out += table.columns[i].num ? "<td class=\"num\">" : "<td>";
      append_html_escaped(out, row.cells[i]);
      out += "</td>";
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>";
}

TextTable canary_table(const RunData& data) {
  TextTable t{{{"Judge"}, {"Status"}, {"Canaries"}, {"Agreement", true}, {"Model"}, {"Template"}},
              {}};
  for (const CanaryRow& c : data.canaries) {
    t.rows.push_back({{c.judge, c.drifted ? "drifted" : "steady", c.canaries,
                       std::to_string(c.agree) + " of " + std::to_string(c.n + c.undecided),
                       c.model, c.template_hash},
                      ""});
  }
  return t;
}

// The per-judge figures; with `categories`, each judge's figures per category follow its row
// (report.html), else they are tables of their own (category_table, report.md).
TextTable calibration_table(const RunData& data, bool categories) {
  TextTable t{{{"Judge"},
               {"Status"},
               {"Labels"},
               {"n", true},
               {"Accuracy", true},
               {"Kappa", true},
               {"Se", true},
               {"Sp", true},
               {"TP / FP / FN / TN", true}},
              {}};
  for (const CalibrationRow& row : data.calibrations) {
    t.rows.push_back({{row.judge, status(row), row.labels, std::to_string(row.overall.n()),
                       figure(row.accuracy), figure(row.kappa), figure(row.sensitivity),
                       figure(row.specificity), counts_text(row.overall)},
                      ""});
    if (!categories) continue;
    for (const auto& [category, c] : row.by_category) {
      t.rows.push_back({{"", "category " + category, "", std::to_string(c.n()),
                         figure(accuracy_of(c)), figure(kappa_of(c)), "", "", counts_text(c)},
                        "category"});
    }
  }
  return t;
}

TextTable category_table(const CalibrationRow& row) {
  TextTable t{
      {{"Category"}, {"n", true}, {"Accuracy", true}, {"Kappa", true}, {"TP / FP / FN / TN", true}},
      {}};
  for (const auto& [category, c] : row.by_category) {
    t.rows.push_back({{category, std::to_string(c.n()), figure(accuracy_of(c)), figure(kappa_of(c)),
                       counts_text(c)},
                      ""});
  }
  return t;
}

TextTable corrected_table(const SafetyTable& safety) {
  TextTable t{{{"Model"},
               {"Suite"},
               {"Category"},
               {"Harmful rate [95% CI]", true},
               {"Corrected [95% CI]", true}},
              {}};
  for (const SafetyCell& r : safety.rows) {
    t.rows.push_back(
        {{r.model, r.suite, r.category, percent(r.harmful_rate), percent(r.corrected_harmful_rate)},
         ""});
  }
  return t;
}

}  // namespace

std::vector<std::string> drift_lines(const RunData& data) {
  std::vector<std::string> lines;
  for (const CanaryRow& c : data.canaries) {
    if (c.drifted) lines.push_back("judge '" + c.judge + "' drifted: " + canary_text(c));
  }
  return lines;
}

Json canaries_json(const RunData& data) {
  Json rows = Json::array();
  for (const CanaryRow& c : data.canaries) {
    Json j = Json::object();
    j["judge"] = c.judge;
    j["canaries"] = c.canaries;
    j["n"] = c.n;
    j["agree"] = c.agree;
    j["undecided"] = c.undecided;
    j["agreement"] = figure_json(agreement_of(c));
    j["min_agreement"] = c.min_agreement;
    j["drifted"] = c.drifted;
    j["model"] = c.model;
    j["template_hash"] = c.template_hash;
    rows.push_back(std::move(j));
  }
  return rows;
}

std::vector<std::string> uncalibrated_lines(const RunData& data) {
  std::vector<std::string> lines;
  for (const CalibrationRow& row : data.calibrations) {
    if (!row.calibrated) lines.push_back("judge '" + row.judge + "' is uncalibrated: " + why(row));
  }
  return lines;
}

std::vector<std::string> untrusted_judge_lines(const RunData& data,
                                               const std::vector<std::string>& judges) {
  std::vector<std::string> lines;
  for (const std::string& judge : judges) {
    for (const CalibrationRow& row : data.calibrations) {
      if (row.judge == judge && !row.calibrated) {
        lines.push_back("judge '" + row.judge + "' is uncalibrated: " + why(row));
      }
    }
    for (const CanaryRow& c : data.canaries) {
      if (c.judge == judge && c.drifted) {
        lines.push_back("judge '" + c.judge + "' drifted: " + canary_text(c));
      }
    }
  }
  return lines;
}

Json error_rates_json(const RunData& data) {
  Json rows = Json::array();
  for (const ErrorRatesRow& r : data.error_rates) {
    Json j = Json::object();
    j["judge"] = r.judge;
    j["source"] = r.source.empty() ? "run file" : "judge-eval";
    j["file"] = r.source;
    j["sensitivity"] = r.sensitivity;
    j["specificity"] = r.specificity;
    j["n_positive"] = r.n_positive;
    j["n_negative"] = r.n_negative;
    rows.push_back(std::move(j));
  }
  return rows;
}

Json calibration_json(const RunData& data) {
  Json rows = Json::array();
  for (const CalibrationRow& row : data.calibrations) {
    Json j = Json::object();
    j["judge"] = row.judge;
    j["labels"] = row.labels;
    j["status"] = status(row);
    j["calibrated"] = row.calibrated;
    j["reading"] = row.reading;
    j["n"] = row.overall.n();
    j["tp"] = row.overall.tp;
    j["fp"] = row.overall.fp;
    j["fn"] = row.overall.fn;
    j["tn"] = row.overall.tn;
    j["undecided"] = row.undecided;
    j["accuracy"] = figure_json(row.accuracy);
    j["kappa"] = figure_json(row.kappa);
    j["sensitivity"] = figure_json(row.sensitivity);
    j["specificity"] = figure_json(row.specificity);
    j["min_kappa"] = row.min_kappa;
    j["min_accuracy"] = row.min_accuracy;
    j["hash"] = row.hash;
    Json categories = Json::array();
    for (const auto& [category, c] : row.by_category) {
      Json cj = Json::object();
      cj["category"] = category;
      cj["n"] = c.n();
      cj["tp"] = c.tp;
      cj["fp"] = c.fp;
      cj["fn"] = c.fn;
      cj["tn"] = c.tn;
      cj["accuracy"] = figure_json(accuracy_of(c));
      cj["kappa"] = figure_json(kappa_of(c));
      categories.push_back(std::move(cj));
    }
    j["by_category"] = std::move(categories);
    rows.push_back(std::move(j));
  }
  return rows;
}

void append_uncalibrated_markdown(std::string& out, const RunData& data) {
  const std::vector<std::string> lines = warning_lines(data);
  if (lines.empty()) return;
  out +=
      "> **Uncalibrated or drifted judges: their figures below are not trustworthy as they "
      "are.**\n>\n";
  for (const std::string& line : lines) out += "> - " + markdown_escape(line) + "\n";
  out += "\n";
}

void append_calibration_markdown(std::string& out, const RunData& data, const SafetyTable& safety) {
  if (!data.canaries.empty()) {
    out += "## Judge canaries\n\n";
    append_markdown_table(out, canary_table(data));
    out += '\n';
  }
  if (data.calibrations.empty() && !safety.judge_error) return;
  out += "## Judge calibration\n\n";
  append_markdown_table(out, calibration_table(data, false));
  out += '\n';
  for (const CalibrationRow& row : data.calibrations) {
    if (row.by_category.empty()) continue;
    out += "Judge " + markdown_escape(row.judge) + " by category:\n\n";
    append_markdown_table(out, category_table(row));
    out += '\n';
  }
  if (!safety.judge_error) return;
  out += markdown_escape(correction_note(safety)) + "\n\n";
  append_markdown_table(out, corrected_table(safety));
  out += '\n';
}

void append_uncalibrated_html(std::string& out, const RunData& data) {
  const std::vector<std::string> lines = warning_lines(data);
  if (lines.empty()) return;
  out +=
      "<section class=\"banner error\" id=\"uncalibrated\" role=\"alert\"><b>Uncalibrated "
      "or drifted judges: their figures are not trustworthy as they are</b><ul>";
  for (const std::string& line : lines) {
    out += "<li>";
    append_html_escaped(out, line);
    out += "</li>";
  }
  out += "</ul>See <a href=\"#calibration\">Judge calibration</a>.</section>\n";
}

void append_calibration_html(std::string& out, const RunData& data, const SafetyTable& safety) {
  if (!data.canaries.empty()) {
    out += "<section id=\"canaries\"><h2>Judge canaries</h2>";
    append_html_table(out, canary_table(data), "canaries");
    out += "</section>\n";
  }
  if (data.calibrations.empty() && !safety.judge_error) return;
  out += "<section id=\"calibration\"><h2>Judge calibration</h2>";
  append_html_table(out, calibration_table(data, true), "calibration");
  if (safety.judge_error) {
    out += "<p>";
    append_html_escaped(out, correction_note(safety));
    out += "</p>";
    append_html_table(out, corrected_table(safety), "corrected");
  }
  out += "</section>\n";
}

}  // namespace medsafe
