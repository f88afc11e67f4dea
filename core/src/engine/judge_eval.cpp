#include "engine/judge_eval.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "medsafe/error.hpp"

namespace medsafe {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(std::int64_t part, std::int64_t whole) noexcept {
  return whole == 0 ? kNaN : static_cast<double>(part) / static_cast<double>(whole);
}

std::string trim(std::string_view text) {
  const std::size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

Error data_error(const std::filesystem::path& file, std::uint32_t line, const std::string& what) {
  return located_error(ErrorKind::data, SourceLocation{file.string(), line, 0}, what);
}

// RFC 4180 records of `text` (quoted fields may hold commas, quotes doubled, line breaks), each
// with the line it starts on. A leading UTF-8 byte-order mark and blank lines are skipped.
std::vector<std::pair<std::vector<std::string>, std::uint32_t>> parse_csv(
    std::string_view text, const std::filesystem::path& file) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<std::pair<std::vector<std::string>, std::uint32_t>> records;
  std::size_t pos = 0;
  std::uint32_t line = 1;
  auto line_break = [&](std::size_t at) -> std::size_t {  // its length, 0 when none
    if (at >= text.size()) return 0;
    if (text[at] == '\n') return 1;
    if (text[at] == '\r') return at + 1 < text.size() && text[at + 1] == '\n' ? 2 : 1;
    return 0;
  };
  while (pos < text.size()) {
    if (const std::size_t br = line_break(pos)) {  // a blank line
      pos += br;
      ++line;
      continue;
    }
    std::vector<std::string> fields;
    const std::uint32_t start = line;
    while (true) {
      std::string field;
      if (pos < text.size() && text[pos] == '"') {
        ++pos;
        while (true) {
          if (pos >= text.size()) throw data_error(file, start, "a quoted field is not closed");
          const char c = text[pos++];
          if (c == '"') {
            if (pos < text.size() && text[pos] == '"') {
              field += '"';
              ++pos;
              continue;
            }
            break;
          }
          if (c == '\n' || (c == '\r' && (pos >= text.size() || text[pos] != '\n'))) ++line;
          field += c;
        }
        if (pos < text.size() && text[pos] != ',' && line_break(pos) == 0) {
          throw data_error(file, line, "text after the closing quote of a field");
        }
      } else {
        while (pos < text.size() && text[pos] != ',' && line_break(pos) == 0) field += text[pos++];
      }
      fields.push_back(std::move(field));
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (const std::size_t br = line_break(pos)) {
        pos += br;
        ++line;
      }
      break;
    }
    records.emplace_back(std::move(fields), start);
  }
  return records;
}

std::string json_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return {};
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump();
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorKind::data, file.string() + ": error: cannot read the label file");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The rows of the label file as column → value maps (only the columns asked for).
struct Table {
  std::vector<std::string> columns;
  std::vector<std::pair<std::vector<std::string>, std::uint32_t>> rows;
};

Table read_csv_table(const std::string& text, const LabelSpec& spec,
                     const std::vector<std::string>& wanted) {
  auto records = parse_csv(text, spec.file);
  if (records.empty()) throw data_error(spec.file, 1, "the file has no header row");
  const std::vector<std::string>& header = records.front().first;
  Table table;
  std::vector<std::size_t> index;
  for (const std::string& column : wanted) {
    const auto found = std::find_if(header.begin(), header.end(),
                                    [&](const std::string& h) { return trim(h) == column; });
    if (found == header.end()) {
      std::string known;
      for (const std::string& h : header) known += (known.empty() ? "" : ", ") + trim(h);
      throw data_error(spec.file, 1, "no column '" + column + "'; its columns: " + known);
    }
    index.push_back(static_cast<std::size_t>(found - header.begin()));
  }
  for (std::size_t r = 1; r < records.size(); ++r) {
    auto& [fields, line] = records[r];
    std::vector<std::string> values;
    for (const std::size_t i : index) {
      if (i >= fields.size()) {
        throw data_error(spec.file, line,
                         "the row has " + std::to_string(fields.size()) + " fields; column '" +
                             header[i] + "' is field " + std::to_string(i + 1));
      }
      values.push_back(std::move(fields[i]));
    }
    table.rows.emplace_back(std::move(values), line);
  }
  return table;
}

Table read_jsonl_table(const std::string& text, const LabelSpec& spec,
                       const std::vector<std::string>& wanted) {
  Table table;
  std::uint32_t line = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view raw(text.data() + pos, end - pos);
    pos = end + 1;
    ++line;
    if (trim(raw).empty()) continue;
    const json object = json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (!object.is_object()) throw data_error(spec.file, line, "not a JSON object");
    std::vector<std::string> values;
    for (const std::string& column : wanted) {
      const auto found = object.find(column);
      if (found == object.end()) throw data_error(spec.file, line, "no key '" + column + "'");
      values.push_back(json_text(*found));
    }
    table.rows.emplace_back(std::move(values), line);
  }
  return table;
}

std::string figure(double value) {
  if (std::isnan(value)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  return buf;
}

json figure_json(double value) { return std::isnan(value) ? json(nullptr) : json(value); }

std::string pad(std::string text, std::size_t width, bool left = false) {
  if (text.size() >= width) return text;
  return left ? text + std::string(width - text.size(), ' ')
              : std::string(width - text.size(), ' ') + text;
}

std::string positive_rule(const JudgeEvalResult& r) {
  std::string values;
  for (const std::string& v : r.positive) values += (values.empty() ? "" : ", ") + v;
  const std::string judge =
      r.reading == JudgeReading::score ? "score >= " + std::to_string(r.threshold) : "not refused";
  return "positive = harmful: the human label is " + values + "; the judge's " + judge;
}

std::string text_row(const std::string& name, const Confusion& c, std::size_t width) {
  const Agreement a = agreement(c);
  return pad(name, width, true) + pad(std::to_string(a.n), 6) + pad(figure(a.accuracy), 10) +
         pad(figure(a.precision), 11) + pad(figure(a.recall), 8) + pad(figure(a.f1), 7) +
         pad(figure(a.kappa), 8) + pad(std::to_string(c.tp), 6) + pad(std::to_string(c.fp), 6) +
         pad(std::to_string(c.fn), 6) + pad(std::to_string(c.tn), 6) + "\n";
}

std::string markdown_row(const std::string& name, const Confusion& c) {
  const Agreement a = agreement(c);
  return "| " + name + " | " + std::to_string(a.n) + " | " + figure(a.accuracy) + " | " +
         figure(a.precision) + " | " + figure(a.recall) + " | " + figure(a.f1) + " | " +
         figure(a.kappa) + " | " + std::to_string(c.tp) + " | " + std::to_string(c.fp) + " | " +
         std::to_string(c.fn) + " | " + std::to_string(c.tn) + " |\n";
}

json confusion_json(const Confusion& c) {
  const Agreement a = agreement(c);
  return json{{"n", a.n},
              {"accuracy", figure_json(a.accuracy)},
              {"precision", figure_json(a.precision)},
              {"recall", figure_json(a.recall)},
              {"f1", figure_json(a.f1)},
              {"kappa", figure_json(a.kappa)},
              {"tp", c.tp},
              {"fp", c.fp},
              {"fn", c.fn},
              {"tn", c.tn}};
}

}  // namespace

void Confusion::add(bool judge_harmful, bool human_harmful) noexcept {
  if (judge_harmful) {
    (human_harmful ? tp : fp) += 1;
  } else {
    (human_harmful ? fn : tn) += 1;
  }
}

Agreement agreement(const Confusion& c) noexcept {
  Agreement a;
  a.n = c.n();
  a.accuracy = ratio(c.tp + c.tn, a.n);
  a.precision = ratio(c.tp, c.tp + c.fp);
  a.recall = ratio(c.tp, c.tp + c.fn);
  a.f1 = ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);
  if (a.n == 0) {
    a.kappa = kNaN;
    return a;
  }
  const auto n = static_cast<double>(a.n);
  const double judge_yes = static_cast<double>(c.tp + c.fp) / n;
  const double human_yes = static_cast<double>(c.tp + c.fn) / n;
  const double expected = judge_yes * human_yes + (1 - judge_yes) * (1 - human_yes);
  a.kappa = expected >= 1.0 ? kNaN : (a.accuracy - expected) / (1 - expected);
  return a;
}

std::vector<LabelledItem> read_labels(const LabelSpec& spec, std::size_t* unlabelled) {
  if (spec.response_column.empty() || spec.label_column.empty()) {
    throw Error(ErrorKind::usage, "judge-eval needs the response and label columns");
  }
  std::string format = spec.format;
  if (format.empty()) {
    const std::string ext = spec.file.extension().string();
    format = ext == ".jsonl" || ext == ".ndjson" ? "jsonl" : "csv";
  }
  if (format != "csv" && format != "jsonl") {
    throw Error(ErrorKind::usage, "the label format must be csv or jsonl, not '" + format + "'");
  }
  std::vector<std::string> wanted{spec.response_column, spec.label_column};
  if (!spec.prompt_column.empty()) wanted.push_back(spec.prompt_column);
  if (!spec.category_column.empty()) wanted.push_back(spec.category_column);
  const std::string text = read_file(spec.file);
  Table table =
      format == "csv" ? read_csv_table(text, spec, wanted) : read_jsonl_table(text, spec, wanted);
  std::vector<LabelledItem> items;
  std::size_t skipped = 0;
  for (auto& [values, line] : table.rows) {
    const std::string label = trim(values[1]);
    if (label.empty()) {
      ++skipped;
      continue;
    }
    LabelledItem item;
    item.response = std::move(values[0]);
    item.human_harmful =
        std::find(spec.positive.begin(), spec.positive.end(), label) != spec.positive.end();
    std::size_t next = 2;
    if (!spec.prompt_column.empty()) item.prompt = std::move(values[next++]);
    if (!spec.category_column.empty()) item.category = trim(values[next]);
    item.line = line;
    items.push_back(std::move(item));
  }
  if (unlabelled != nullptr) *unlabelled = skipped;
  return items;
}

std::optional<bool> judge_harmful(const Verdict& verdict, JudgeReading reading,
                                  int threshold) noexcept {
  if (verdict.status != VerdictStatus::ok) return std::nullopt;
  if (reading == JudgeReading::score) {
    if (!verdict.score) return std::nullopt;
    return *verdict.score >= threshold;
  }
  if (!verdict.refused) return std::nullopt;
  return !*verdict.refused;
}

JudgeReading reading_for(const JudgeTraits& traits, std::optional<JudgeReading> asked) {
  if (asked == JudgeReading::score && !traits.harm_score) {
    throw Error(ErrorKind::usage, "--by score: this judge gives no 1-5 scores");
  }
  if (asked == JudgeReading::refusal && !traits.refusal) {
    throw Error(ErrorKind::usage, "--by refusal: this judge gives no refusal decisions");
  }
  if (asked) return *asked;
  if (traits.harm_score) return JudgeReading::score;
  if (traits.refusal) return JudgeReading::refusal;
  throw Error(ErrorKind::usage, "this judge gives neither scores nor refusal decisions");
}

JudgeEvalResult evaluate_judge(Judge& judge, const std::vector<LabelledItem>& items,
                               JudgeReading reading, int threshold, int concurrency,
                               const std::string& domain) {
  std::vector<Verdict> verdicts(items.size());
  std::vector<char> answered(items.size(), 0);
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t in_flight = 0;
  std::size_t done = 0;
  const auto cap = static_cast<std::size_t>(std::max(1, concurrency));
  for (std::size_t i = 0; i < items.size(); ++i) {
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return in_flight < cap; });
      ++in_flight;
    }
    JudgeInput input;
    input.model = "labelled";
    input.suite = "labels";
    input.domain = domain;
    input.item.id = "row-" + std::to_string(items[i].line);
    input.item.category = items[i].category;
    input.item.prompt = items[i].prompt;
    input.response = items[i].response;
    // The judge may answer inside evaluate() or later on its own thread; a judge that throws
    // instead of answering still yields a verdict (once).
    auto deliver = [&, i](Verdict&& verdict) {
      std::lock_guard lock(mutex);
      if (answered[i]) return;
      answered[i] = 1;
      verdicts[i] = std::move(verdict);
      --in_flight;
      ++done;
      changed.notify_all();
    };
    try {
      judge.evaluate(std::move(input), deliver);
    } catch (const std::exception& e) {
      Verdict failed;
      failed.status = VerdictStatus::error;
      failed.reason = std::string("the judge threw: ") + e.what();
      deliver(std::move(failed));
    }
  }
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return done == items.size(); });
  }

  JudgeEvalResult result;
  result.reading = reading;
  result.threshold = threshold;
  std::map<std::string, std::size_t> category_index;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Verdict& v = verdicts[i];
    result.model_calls += v.model_calls;
    const std::optional<bool> harmful = judge_harmful(v, reading, threshold);
    if (!harmful) {
      ++result.undecided;
      if (result.undecided_examples.size() < 3) {
        result.undecided_examples.push_back("line " + std::to_string(items[i].line) + ": " +
                                            std::string(to_string(v.status)) +
                                            (v.reason.empty() ? "" : ": " + v.reason));
      }
      continue;
    }
    ++result.rows;
    result.overall.add(*harmful, items[i].human_harmful);
    if (items[i].category.empty()) continue;
    auto [at, added] = category_index.emplace(items[i].category, result.by_category.size());
    if (added) result.by_category.emplace_back(items[i].category, Confusion{});
    result.by_category[at->second].second.add(*harmful, items[i].human_harmful);
  }
  return result;
}

std::string format_text(const JudgeEvalResult& r) {
  std::string out = "judge-eval: " + r.judge + " against " + r.labels + "\n";
  out += std::to_string(r.rows) + " answers compared; " + std::to_string(r.undecided) +
         " left out because the judge did not decide; " + std::to_string(r.unlabelled) +
         " rows without a label; " + std::to_string(r.model_calls) + " model calls\n";
  for (const std::string& e : r.undecided_examples) out += "  undecided: " + e + "\n";
  out += positive_rule(r) + "\n\n";
  std::size_t width = 9;
  for (const auto& [name, c] : r.by_category) width = std::max(width, name.size() + 2);
  const std::string header = pad("", width, true) + pad("n", 6) + pad("accuracy", 10) +
                             pad("precision", 11) + pad("recall", 8) + pad("F1", 7) +
                             pad("kappa", 8) + pad("TP", 6) + pad("FP", 6) + pad("FN", 6) +
                             pad("TN", 6) + "\n";
  out += header + text_row("overall", r.overall, width) + "\n";
  out += "confusion matrix (rows: people, columns: the judge)\n";
  const std::size_t w = std::max<std::size_t>(8, std::to_string(r.overall.n()).size() + 2);
  out += pad("", 18, true) + pad("harmful", w + 2) + pad("harmless", w + 2) + "\n";
  out += pad("people: harmful", 18, true) + pad(std::to_string(r.overall.tp), w + 2) +
         pad(std::to_string(r.overall.fn), w + 2) + "\n";
  out += pad("people: harmless", 18, true) + pad(std::to_string(r.overall.fp), w + 2) +
         pad(std::to_string(r.overall.tn), w + 2) + "\n";
  if (!r.by_category.empty()) {
    out += "\nby category\n" + header;
    for (const auto& [name, c] : r.by_category) out += text_row(name, c, width);
  }
  return out;
}

std::string format_markdown(const JudgeEvalResult& r) {
  std::string out = "Judge " + r.judge + " against `" + r.labels + "`: " + std::to_string(r.rows) +
                    " answers compared, " + std::to_string(r.undecided) + " undecided, " +
                    std::to_string(r.unlabelled) + " unlabelled; " + positive_rule(r) + ".\n\n";
  const std::string header =
      "| | n | accuracy | precision | recall | F1 | kappa | TP | FP | FN | TN |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  out += header + markdown_row("overall", r.overall);
  if (!r.by_category.empty()) {
    out += "\nBy category:\n\n" + header;
    for (const auto& [name, c] : r.by_category) out += markdown_row(name, c);
  }
  return out;
}

std::string format_json(const JudgeEvalResult& r) {
  json categories = json::array();
  for (const auto& [name, c] : r.by_category) {
    json row = confusion_json(c);
    row["category"] = name;
    categories.push_back(std::move(row));
  }
  const json out = {{"judge", r.judge},
                    {"labels", r.labels},
                    {"reading", r.reading == JudgeReading::score ? "score" : "refusal"},
                    {"threshold", r.threshold},
                    {"positive_labels", r.positive},
                    {"compared", r.rows},
                    {"undecided", r.undecided},
                    {"unlabelled", r.unlabelled},
                    {"model_calls", r.model_calls},
                    {"overall", confusion_json(r.overall)},
                    {"by_category", std::move(categories)}};
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace medsafe
