#include "report/judge_eval.hpp"

#include <algorithm>
#include <array>
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
#include "medsafe/text.hpp"
#include "report/csv_writer.hpp"

namespace medsafe {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(std::int64_t part, std::int64_t whole) noexcept {
  return whole == 0 ? kNaN : static_cast<double>(part) / static_cast<double>(whole);
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
      for (const std::string& h : header)
        known += (known.empty() ? "" : ", ") + std::string(trim(h));
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
  const std::string human =
      r.scale == LabelScale::score ? "a 1-5 score >= " + std::to_string(r.threshold) : values;
  return "positive = harmful: the human label is " + human + "; the judge's " + judge;
}

// The two classes by name; a refusal judge's harmful answers are those it found complied.
std::string class_name(const JudgeEvalResult& r, bool harmful) {
  if (r.reading == JudgeReading::refusal)
    return harmful ? "harmful (complied)" : "harmless (refused)";
  return harmful ? "harmful" : "harmless";
}

std::string with_interval(double value, const std::optional<Interval>& ci) {
  return figure(value) + (ci ? " [" + figure(ci->low) + ", " + figure(ci->high) + "]" : "");
}

json interval_json(const std::optional<Interval>& ci) {
  return ci ? json::array({ci->low, ci->high}) : json(nullptr);
}

std::string text_classes(const JudgeEvalResult& r) {
  const Agreement a = agreement(r.overall);
  const std::size_t w = 22;
  std::string out =
      pad("per class", w, true) + pad("precision", 11) + pad("recall", 8) + pad("F1", 7) + "\n";
  out += pad(class_name(r, true), w, true) + pad(figure(a.precision), 11) +
         pad(figure(a.recall), 8) + pad(figure(a.f1), 7) + "\n";
  out += pad(class_name(r, false), w, true) + pad(figure(a.harmless_precision), 11) +
         pad(figure(a.harmless_recall), 8) + pad(figure(a.harmless_f1), 7) + "\n";
  return out + "macro F1 " + figure(a.macro_f1) + "\n";
}

std::string text_intervals(const JudgeEvalResult& r) {
  const AgreementIntervals& i = *r.intervals;
  const Agreement a = agreement(r.overall);
  return "95% bootstrap intervals (" + std::to_string(i.resamples) + " resamples of the " +
         std::to_string(r.rows) + " answers compared, seed " + std::to_string(i.seed) +
         "): accuracy " + with_interval(a.accuracy, i.accuracy) + "; kappa " +
         with_interval(a.kappa, i.kappa) + "; F1 " + class_name(r, true) + " " +
         with_interval(a.f1, i.f1) + "; F1 " + class_name(r, false) + " " +
         with_interval(a.harmless_f1, i.harmless_f1);
}

std::string text_scores(const JudgeEvalResult& r) {
  const ScoreAgreement& s = *r.scores;
  const AgreementIntervals none;
  const AgreementIntervals& i = r.intervals ? *r.intervals : none;
  std::string out = "1-5 scores (" + std::to_string(s.table.n()) +
                    " answers scored by people and the judge): exact agreement " +
                    with_interval(s.exact, i.score_exact) + "; kappa " +
                    with_interval(s.kappa, i.score_kappa) + "; weighted kappa (quadratic) " +
                    with_interval(s.weighted_kappa, i.weighted_kappa) +
                    "; Krippendorff's alpha (ordinal) " + with_interval(s.alpha, i.alpha) + "\n";
  out += "score matrix (rows: people's score, columns: the judge's)\n";
  const std::size_t w = std::max<std::size_t>(6, std::to_string(s.table.n()).size() + 2);
  out += pad("", 10, true);
  for (int j = 1; j <= 5; ++j) out += pad(std::to_string(j), w);
  out += "\n";
  for (int h = 1; h <= 5; ++h) {
    out += pad("people " + std::to_string(h), 10, true);
    for (int j = 1; j <= 5; ++j) out += pad(std::to_string(s.table.at(h, j)), w);
    out += "\n";
  }
  return out;
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
              {"harmful",
               {{"precision", figure_json(a.precision)},
                {"recall", figure_json(a.recall)},
                {"f1", figure_json(a.f1)}}},
              {"harmless",
               {{"precision", figure_json(a.harmless_precision)},
                {"recall", figure_json(a.harmless_recall)},
                {"f1", figure_json(a.harmless_f1)}}},
              {"macro_f1", figure_json(a.macro_f1)},
              {"tp", c.tp},
              {"fp", c.fp},
              {"fn", c.fn},
              {"tn", c.tn}};
}

// The judge's 1-5 score of an item people scored too, when both are read as scores.
std::optional<int> score_of(const Verdict& v, JudgeReading reading, const LabelledItem& item) {
  if (reading != JudgeReading::score || !item.human_score || v.status != VerdictStatus::ok ||
      !v.score || *v.score < 1 || *v.score > 5) {
    return std::nullopt;
  }
  return v.score;
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
  a.harmless_precision = ratio(c.tn, c.tn + c.fn);
  a.harmless_recall = ratio(c.tn, c.tn + c.fp);
  a.harmless_f1 = ratio(2 * c.tn, 2 * c.tn + c.fn + c.fp);
  a.macro_f1 = (a.f1 + a.harmless_f1) / 2;  // NaN when either is
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

std::string_view to_string(LabelScale scale) noexcept {
  switch (scale) {
    case LabelScale::binary:
      return "binary";
    case LabelScale::score:
      return "score";
    case LabelScale::automatic:
      return "auto";
  }
  return "binary";
}

std::vector<std::pair<std::string, std::string>> parse_label_map(std::string_view text,
                                                                 std::string_view what) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string entry(trim(text.substr(pos, comma - pos)));
    pos = comma + 1;
    if (entry.empty()) continue;
    const std::size_t eq = entry.find('=');
    const std::string_view pair = entry;
    const std::string from(eq == std::string::npos ? "" : trim(pair.substr(0, eq)));
    const std::string to(eq == std::string::npos ? "" : trim(pair.substr(eq + 1)));
    if (from.empty() || to.empty()) {
      throw Error(ErrorKind::usage, std::string(what) + " '" + entry +
                                        "': write LABEL=VALUE (e.g. 'partial_refusal=refused')");
    }
    pairs.emplace_back(from, to);
  }
  return pairs;
}

std::vector<LabelledItem> read_labels(const LabelSpec& spec, std::size_t* unlabelled) {
  LabelSet set = read_label_set(spec);
  if (unlabelled != nullptr) *unlabelled = set.unlabelled;
  return std::move(set.items);
}

LabelSet read_label_set(const LabelSpec& spec) {
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
  if (!spec.id_column.empty()) wanted.push_back(spec.id_column);
  const std::string text = read_file(spec.file);
  Table table =
      format == "csv" ? read_csv_table(text, spec, wanted) : read_jsonl_table(text, spec, wanted);
  LabelSet set;
  auto listed = [](const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  for (auto& [values, line] : table.rows) {
    const std::string written(trim(values[1]));
    if (written.empty()) {
      ++set.unlabelled;
      continue;
    }
    std::string label = written;
    for (const auto& [from, to] : spec.map) {
      if (written == from) {
        label = to;
        break;
      }
    }
    if (listed(spec.drop, written) || listed(spec.drop, label)) {
      ++set.dropped;
      continue;
    }
    LabelledItem item;
    item.response = std::move(values[0]);
    item.label = std::move(label);
    std::size_t next = 2;
    if (!spec.prompt_column.empty()) item.prompt = std::move(values[next++]);
    if (!spec.category_column.empty()) item.category = std::string(trim(values[next++]));
    item.id =
        spec.id_column.empty() ? "line " + std::to_string(line) : std::string(trim(values[next]));
    item.line = line;
    set.items.push_back(std::move(item));
  }

  auto is_score = [](const std::string& label) {
    return label.size() == 1 && label[0] >= '1' && label[0] <= '5';
  };
  set.scale = spec.scale;
  if (set.scale == LabelScale::automatic) {
    // All 1s would be a one-class binary set as often as a set of scores: binary, then.
    const bool scores = !set.items.empty() &&
                        std::all_of(set.items.begin(), set.items.end(),
                                    [&](const LabelledItem& i) { return is_score(i.label); }) &&
                        std::any_of(set.items.begin(), set.items.end(),
                                    [](const LabelledItem& i) { return i.label != "1"; });
    set.scale = scores ? LabelScale::score : LabelScale::binary;
  }
  bool any_positive = false;
  for (LabelledItem& item : set.items) {
    if (set.scale == LabelScale::score) {
      if (!is_score(item.label)) {
        throw data_error(spec.file, item.line,
                         "the label '" + item.label +
                             "' is not an integer from 1 to 5 (the labels are read as 1-5 "
                             "scores: --label-scale score)");
      }
      item.human_score = item.label[0] - '0';
      item.human_harmful = *item.human_score >= spec.threshold;
    } else {
      item.human_harmful = listed(spec.positive, item.label);
    }
    any_positive = any_positive || item.human_harmful;
    auto found = std::find_if(set.values.begin(), set.values.end(),
                              [&](const auto& v) { return v.first == item.label; });
    if (found == set.values.end()) {
      set.values.emplace_back(item.label, 1);
    } else {
      ++found->second;
    }
  }
  if (set.scale == LabelScale::binary && !any_positive && !set.items.empty() &&
      !spec.allow_no_positive) {
    std::string asked;
    for (const std::string& p : spec.positive) asked += (asked.empty() ? "'" : ", '") + p + "'";
    std::string found;
    constexpr std::size_t kShown = 12;
    for (std::size_t i = 0; i < set.values.size() && i < kShown; ++i) {
      found += (i ? ", '" : "'") + set.values[i].first + "' (" +
               std::to_string(set.values[i].second) + ")";
    }
    if (set.values.size() > kShown) {
      found += " and " + std::to_string(set.values.size() - kShown) + " more";
    }
    throw Error(ErrorKind::usage,
                spec.file.string() + ": error: no label in column '" + spec.label_column +
                    "' is a positive (harmful) value " + asked + "; the labels found" +
                    (spec.map.empty() && spec.drop.empty() ? "" : " after --map and --drop") +
                    ": " + found +
                    ". Name the harmful ones with --positive VALUE, or pass --allow-no-positive "
                    "when no answer of this set is harmful");
  }
  return set;
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
  RatingTable scores(1, 5);
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
    for (const std::string& flag : v.flags) {
      auto tally = std::find_if(result.flags.begin(), result.flags.end(),
                                [&flag](const auto& t) { return t.flag == flag; });
      if (tally == result.flags.end()) {
        result.flags.push_back({flag, 0, 0});
        tally = result.flags.end() - 1;
      }
      ++tally->verdicts;
      tally->agree += *harmful == items[i].human_harmful ? 1 : 0;
    }
    if (const std::optional<int> judge_score = score_of(v, reading, items[i])) {
      scores.add(*items[i].human_score, *judge_score);
    }
    if (items[i].category.empty()) continue;
    auto [at, added] = category_index.emplace(items[i].category, result.by_category.size());
    if (added) result.by_category.emplace_back(items[i].category, Confusion{});
    result.by_category[at->second].second.add(*harmful, items[i].human_harmful);
  }
  if (scores.n() > 0) result.scores = score_agreement(scores);
  result.verdicts = std::move(verdicts);
  return result;
}

ScoreAgreement score_agreement(const RatingTable& table) {
  ScoreAgreement s;
  s.table = table;
  s.exact = exact_agreement(table);
  s.kappa = cohen_kappa(table);
  s.weighted_kappa = quadratic_weighted_kappa(table);
  s.alpha = krippendorff_alpha(table, AlphaMetric::ordinal);
  return s;
}

void add_intervals(JudgeEvalResult& result, const std::vector<LabelledItem>& items,
                   std::uint64_t seed, int resamples) {
  if (resamples <= 0) return;
  struct Compared {
    bool human = false;
    bool judge = false;
    std::optional<int> human_score, judge_score;
  };
  std::vector<Compared> compared;
  for (std::size_t i = 0; i < items.size() && i < result.verdicts.size(); ++i) {
    const Verdict& v = result.verdicts[i];
    const std::optional<bool> harmful = judge_harmful(v, result.reading, result.threshold);
    if (!harmful) continue;
    const std::optional<int> judge_score = score_of(v, result.reading, items[i]);
    compared.push_back({items[i].human_harmful, *harmful,
                        judge_score ? items[i].human_score : std::nullopt, judge_score});
  }
  AgreementIntervals out;
  out.resamples = resamples;
  out.seed = seed;
  if (compared.empty()) {
    result.intervals = out;
    return;
  }
  const bool with_scores = result.scores.has_value();
  std::array<std::vector<double>, 8> draws;  // in the order of the fields below
  Xoshiro256 rng(seed);
  for (int b = 0; b < resamples; ++b) {
    Confusion c;
    RatingTable table(1, 5);
    for (std::size_t k = 0; k < compared.size(); ++k) {
      const Compared& pick = compared[rng.below(compared.size())];
      c.add(pick.judge, pick.human);
      if (pick.judge_score) table.add(*pick.human_score, *pick.judge_score);
    }
    const Agreement a = agreement(c);
    const std::array<double, 4> binary = {a.accuracy, a.kappa, a.f1, a.harmless_f1};
    for (std::size_t f = 0; f < binary.size(); ++f) draws[f].push_back(binary[f]);
    if (with_scores) {
      const ScoreAgreement s = score_agreement(table);
      const std::array<double, 4> ordinal = {s.exact, s.kappa, s.weighted_kappa, s.alpha};
      for (std::size_t f = 0; f < ordinal.size(); ++f) draws[4 + f].push_back(ordinal[f]);
    }
  }
  auto interval = [](std::vector<double>& values) -> std::optional<Interval> {
    values.erase(
        std::remove_if(values.begin(), values.end(), [](double x) { return std::isnan(x); }),
        values.end());
    if (values.empty()) return std::nullopt;
    std::sort(values.begin(), values.end());
    const double tail = (1.0 - kConfidence) / 2.0;
    return Interval{percentile_sorted(values, tail), percentile_sorted(values, 1.0 - tail)};
  };
  out.accuracy = interval(draws[0]);
  out.kappa = interval(draws[1]);
  out.f1 = interval(draws[2]);
  out.harmless_f1 = interval(draws[3]);
  out.score_exact = interval(draws[4]);
  out.score_kappa = interval(draws[5]);
  out.weighted_kappa = interval(draws[6]);
  out.alpha = interval(draws[7]);
  result.intervals = out;
}

std::string format_per_item(const std::vector<LabelledItem>& items, const JudgeEvalResult& r,
                            bool jsonl) {
  auto word = [](std::optional<bool> harmful) {
    return harmful ? (*harmful ? "harmful" : "harmless") : "undecided";
  };
  std::string out;
  CsvWriter csv(3);
  if (!jsonl) {
    for (const char* name : {"id", "line", "label", "human", "verdict", "status", "score",
                             "refused", "judge_label", "confidence", "reason", "raw"}) {
      csv.text(name);
    }
    csv.end_row();
  }
  for (std::size_t i = 0; i < items.size() && i < r.verdicts.size(); ++i) {
    const LabelledItem& item = items[i];
    const Verdict& v = r.verdicts[i];
    const std::optional<bool> harmful = judge_harmful(v, r.reading, r.threshold);
    if (jsonl) {
      const json row = {{"id", item.id},
                        {"line", item.line},
                        {"label", item.label},
                        {"human", word(item.human_harmful)},
                        {"verdict", word(harmful)},
                        {"status", to_string(v.status)},
                        {"score", v.score ? json(*v.score) : json(nullptr)},
                        {"refused", v.refused ? json(*v.refused) : json(nullptr)},
                        {"judge_label", v.label},
                        {"confidence", v.confidence ? json(*v.confidence) : json(nullptr)},
                        {"reason", v.reason},
                        {"raw", v.raw}};
      out += row.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
      continue;
    }
    csv.text(item.id).integer(item.line).text(item.label).text(word(item.human_harmful));
    csv.text(word(harmful)).text(to_string(v.status));
    if (v.score) {
      csv.integer(*v.score);
    } else {
      csv.text("");
    }
    csv.text(v.refused ? (*v.refused ? "true" : "false") : "");
    csv.text(v.label).number(v.confidence).text(v.reason).text(v.raw).end_row();
  }
  return jsonl ? out : csv.str();
}

std::string format_text(const JudgeEvalResult& r) {
  std::string out = "judge-eval: " + r.judge + " against " + r.labels + "\n";
  out += std::to_string(r.rows) + " answers compared; " + std::to_string(r.undecided) +
         " left out because the judge did not decide; " + std::to_string(r.unlabelled) +
         " rows without a label; " + std::to_string(r.model_calls) + " model calls\n";
  if (r.dropped > 0) out += std::to_string(r.dropped) + " rows dropped by their label (--drop)\n";
  for (const std::string& e : r.undecided_examples) out += "  undecided: " + e + "\n";
  out += positive_rule(r) + "\n\n";
  std::size_t width = 9;
  for (const auto& [name, c] : r.by_category) width = std::max(width, name.size() + 2);
  const std::string header = pad("", width, true) + pad("n", 6) + pad("accuracy", 10) +
                             pad("precision", 11) + pad("recall", 8) + pad("F1", 7) +
                             pad("kappa", 8) + pad("TP", 6) + pad("FP", 6) + pad("FN", 6) +
                             pad("TN", 6) + "\n";
  out += header + text_row("overall", r.overall, width) + "\n";
  for (const auto& t : r.flags) {
    out += "flagged '" + t.flag + "': " + std::to_string(t.verdicts) +
           " of the compared verdicts, " + std::to_string(t.agree) +
           " of them agreeing with people\n";
  }
  if (!r.flags.empty()) out += "\n";
  out += text_classes(r) + "\n";
  if (r.intervals) out += text_intervals(r) + "\n";
  out += "confusion matrix (rows: people, columns: the judge)\n";
  const std::size_t w = std::max<std::size_t>(8, std::to_string(r.overall.n()).size() + 2);
  out += pad("", 18, true) + pad("harmful", w + 2) + pad("harmless", w + 2) + "\n";
  out += pad("people: harmful", 18, true) + pad(std::to_string(r.overall.tp), w + 2) +
         pad(std::to_string(r.overall.fn), w + 2) + "\n";
  out += pad("people: harmless", 18, true) + pad(std::to_string(r.overall.fp), w + 2) +
         pad(std::to_string(r.overall.tn), w + 2) + "\n";
  if (r.scores) out += "\n" + text_scores(r);
  if (!r.by_category.empty()) {
    out += "\nby category\n" + header;
    for (const auto& [name, c] : r.by_category) out += text_row(name, c, width);
  }
  return out;
}

std::string format_markdown(const JudgeEvalResult& r) {
  std::string out = "Judge " + r.judge + " against `" + r.labels + "`: " + std::to_string(r.rows) +
                    " answers compared, " + std::to_string(r.undecided) + " undecided, " +
                    std::to_string(r.unlabelled) + " unlabelled" +
                    (r.dropped > 0 ? ", " + std::to_string(r.dropped) + " dropped" : "") + "; " +
                    positive_rule(r) + ".\n\n";
  const std::string header =
      "| | n | accuracy | precision | recall | F1 | kappa | TP | FP | FN | TN |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  out += header + markdown_row("overall", r.overall);
  const Agreement a = agreement(r.overall);
  out += "\n| class | precision | recall | F1 |\n|---|---:|---:|---:|\n";
  out += "| " + class_name(r, true) + " | " + figure(a.precision) + " | " + figure(a.recall) +
         " | " + figure(a.f1) + " |\n";
  out += "| " + class_name(r, false) + " | " + figure(a.harmless_precision) + " | " +
         figure(a.harmless_recall) + " | " + figure(a.harmless_f1) + " |\n";
  out += "\nMacro F1 " + figure(a.macro_f1) + ".\n";
  if (r.intervals) out += "\n" + text_intervals(r) + "\n";
  if (r.scores) {
    const ScoreAgreement& s = *r.scores;
    out += "\n1-5 scores (" + std::to_string(s.table.n()) + " answers): exact agreement " +
           figure(s.exact) + ", kappa " + figure(s.kappa) + ", weighted kappa (quadratic) " +
           figure(s.weighted_kappa) + ", Krippendorff's alpha (ordinal) " + figure(s.alpha) +
           ".\n\n";
    out += "| people \\ judge | 1 | 2 | 3 | 4 | 5 |\n|---|---:|---:|---:|---:|---:|\n";
    for (int h = 1; h <= 5; ++h) {
      out += "| " + std::to_string(h);
      for (int j = 1; j <= 5; ++j) out += " | " + std::to_string(s.table.at(h, j));
      out += " |\n";
    }
  }
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
  json values = json::object();
  for (const auto& [value, count] : r.label_values) values[value] = count;
  json flags = json::object();
  for (const auto& t : r.flags) flags[t.flag] = {{"verdicts", t.verdicts}, {"agree", t.agree}};
  json scores = nullptr;
  if (r.scores) {
    const ScoreAgreement& s = *r.scores;
    json matrix = json::array();
    for (int h = 1; h <= 5; ++h) {
      json row = json::array();
      for (int j = 1; j <= 5; ++j) row.push_back(s.table.at(h, j));
      matrix.push_back(std::move(row));
    }
    scores = {{"n", s.table.n()},
              {"exact", figure_json(s.exact)},
              {"kappa", figure_json(s.kappa)},
              {"weighted_kappa", figure_json(s.weighted_kappa)},
              {"alpha_ordinal", figure_json(s.alpha)},
              {"matrix", std::move(matrix)}};
  }
  json intervals = nullptr;
  if (r.intervals) {
    const AgreementIntervals& i = *r.intervals;
    intervals = {{"resamples", i.resamples},
                 {"seed", i.seed},
                 {"confidence", kConfidence},
                 {"accuracy", interval_json(i.accuracy)},
                 {"kappa", interval_json(i.kappa)},
                 {"f1", interval_json(i.f1)},
                 {"harmless_f1", interval_json(i.harmless_f1)},
                 {"score_exact", interval_json(i.score_exact)},
                 {"score_kappa", interval_json(i.score_kappa)},
                 {"weighted_kappa", interval_json(i.weighted_kappa)},
                 {"alpha_ordinal", interval_json(i.alpha)}};
  }
  const json out = {{"judge", r.judge},
                    {"labels", r.labels},
                    {"reading", r.reading == JudgeReading::score ? "score" : "refusal"},
                    {"threshold", r.threshold},
                    {"label_scale", to_string(r.scale)},
                    {"positive_labels", r.positive},
                    {"label_values", std::move(values)},
                    {"compared", r.rows},
                    {"undecided", r.undecided},
                    {"unlabelled", r.unlabelled},
                    {"dropped", r.dropped},
                    {"model_calls", r.model_calls},
                    {"overall", confusion_json(r.overall)},
                    {"flags", std::move(flags)},
                    {"scores", std::move(scores)},
                    {"intervals", std::move(intervals)},
                    {"by_category", std::move(categories)}};
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace medsafe
