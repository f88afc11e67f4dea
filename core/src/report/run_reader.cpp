#include "report/run_reader.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/store/sqlite.hpp"
#include "medsafe/error.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The decoders of the columns engine/store/store.cpp encodes (events_to_json, join_flags,
// endpoints_to_json): a change to a column's format changes both files. Decoders the kernel
// needs too (sessions, verdict status, early stop) are store.hpp's.
TokenEvents events_from_json(const std::string& text, std::int64_t sent_ns, const fs::path& file) {
  TokenEvents events;
  const json offsets = json::parse(text, nullptr, false);
  if (!offsets.is_array()) {
    throw Error(ErrorKind::store, file.string() +
                                      ": error: a response's token_events is not a "
                                      "JSON array; the store is damaged");
  }
  events.reserve(offsets.size());
  for (const json& offset : offsets) events.push_back(sent_ns + offset.get<std::int64_t>());
  // A copy holds its bytes at their size: the reserve above guessed two a stamp, and most
  // gaps take one, so every answer RunData holds kept about as many bytes unused.
  TokenEvents exact = events;
  return exact;
}

TokenSource token_source_from(const std::string& text) {
  if (text == "usage") return TokenSource::usage;
  if (text == "events") return TokenSource::events;
  if (text == "estimate") return TokenSource::estimate;
  return TokenSource::none;
}

std::vector<std::string> split_flags(std::string_view text) {
  std::vector<std::string> flags;
  while (!text.empty()) {
    const std::size_t comma = std::min(text.find(','), text.size());
    if (comma > 0) flags.emplace_back(text.substr(0, comma));
    text.remove_prefix(std::min(comma + 1, text.size()));
  }
  return flags;
}

// A read-only Store of an older layout lacks the tables added since (it is never migrated).
bool has_table(Database& db, std::string_view table) {
  Statement exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  exists.bind(1, table);
  return exists.step();
}

bool is_safety_phase(const std::string& phase) { return phase.empty() || phase == "safety"; }

std::vector<EndpointAttempt> endpoints_from_json(const std::string& text) {
  std::vector<EndpointAttempt> endpoints;
  if (text.empty()) return endpoints;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return endpoints;
  for (const json& e : j) {
    if (!e.is_object()) continue;
    endpoints.push_back(
        {e.value("endpoint", ""),
         outcome_from_string(e.value("outcome", "")).value_or(Outcome::backend_error),
         e.value("http_status", 0)});
  }
  return endpoints;
}

}  // namespace

// The batch default, one text() per index; StoredTexts reads a batch in store order instead.
std::vector<std::string> ResponseTexts::texts(std::span<const std::size_t> indices) const {
  std::vector<std::string> out;
  out.reserve(indices.size());
  for (const std::size_t index : indices) out.push_back(text(index));
  return out;
}

namespace {

// The rows of `rowids` at `indices`, in `indices`' order: `read(scan, position)` is called on
// each with `scan` at its row (column 0 the rowid). In rowid order, one statement stepping
// through the table: a lookup per text (a B-tree descent, a reset and a bind) cost a
// 300,000-answer report pass about a sixth of its time. Where the next wanted row is far ahead,
// the scan seeks to it instead of stepping there. An index out of range is not read.
template <typename Read>
void scan_rows(Statement& scan, const std::vector<std::int64_t>& rowids,
               std::span<const std::size_t> indices, Read&& read) {
  constexpr std::int64_t kStepAhead = 64;
  std::vector<std::pair<std::int64_t, std::size_t>> wanted;  // rowid, position in `indices`
  wanted.reserve(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < rowids.size()) wanted.emplace_back(rowids[indices[i]], i);
  }
  std::sort(wanted.begin(), wanted.end());
  bool row = false;
  std::int64_t at = 0;
  for (const auto& [rowid, position] : wanted) {
    if (!row || rowid < at || rowid - at > kStepAhead) {
      scan.reset();
      scan.bind(1, rowid);
      row = scan.step();
      if (row) at = scan.integer(0);
    }
    while (row && at < rowid) {
      row = scan.step();
      if (row) at = scan.integer(0);
    }
    if (row && at == rowid) read(scan, position);
  }
  scan.reset();
}

// Texts::deferred: the rowids of the responses, items and verdicts, in RunData order, and the
// statements reading their texts.
class StoredTexts final : public ResponseTexts {
 public:
  explicit StoredTexts(Database& db)
      : select_(db, "SELECT text FROM responses WHERE rowid = ?1"),
        scan_(db, "SELECT rowid, text FROM responses WHERE rowid >= ?1 ORDER BY rowid"),
        prompts_(db, "SELECT rowid, prompt FROM items WHERE rowid >= ?1 ORDER BY rowid"),
        verdicts_(db, "SELECT rowid, reason, raw FROM verdicts WHERE rowid >= ?1 ORDER BY rowid") {}
  std::vector<std::int64_t> rowids;
  std::vector<std::int64_t> item_rowids;
  std::vector<std::int64_t> verdict_rowids;

  [[nodiscard]] std::string text(std::size_t index) const override {
    if (index >= rowids.size()) return {};
    select_.reset();
    select_.bind(1, rowids[index]);
    std::string text = select_.step() ? select_.text(0) : std::string();
    select_.reset();
    return text;
  }

  [[nodiscard]] std::vector<std::string> texts(
      std::span<const std::size_t> indices) const override {
    std::vector<std::string> out(indices.size());
    scan_rows(scan_, rowids, indices,
              [&out](const Statement& row, std::size_t at) { out[at] = row.text(1); });
    return out;
  }

  [[nodiscard]] std::vector<std::string> prompts(
      std::span<const std::size_t> indices) const override {
    std::vector<std::string> out(indices.size());
    scan_rows(prompts_, item_rowids, indices,
              [&out](const Statement& row, std::size_t at) { out[at] = row.text(1); });
    return out;
  }

  [[nodiscard]] std::vector<VerdictTexts> verdict_texts(
      std::span<const std::size_t> indices) const override {
    std::vector<VerdictTexts> out(indices.size());
    scan_rows(verdicts_, verdict_rowids, indices, [&out](const Statement& row, std::size_t at) {
      out[at] = {row.text(1), row.text(2)};
    });
    return out;
  }

 private:
  mutable Statement select_;
  mutable Statement scan_;
  mutable Statement prompts_;
  mutable Statement verdicts_;
};

// The judges' calibrations, canaries and error rates (RunData's judge records).
void read_judge_records_into(Database& db, RunData& data) {
  // A read-only Store of an older layout has no such table, and so no calibrations.
  if (has_table(db, "calibrations")) {
    Statement calibrations(db, R"sql(
      SELECT judge, labels, hash, reading, tp, fp, fn, tn, accuracy, kappa, sensitivity,
        specificity, min_kappa, min_accuracy, calibrated, undecided, by_category, created_at
      FROM calibrations ORDER BY judge
    )sql");
    auto figure = [&calibrations](int column) {
      return calibrations.is_null(column) ? std::numeric_limits<double>::quiet_NaN()
                                          : calibrations.real(column);
    };
    while (calibrations.step()) {
      CalibrationRow row;
      row.judge = calibrations.text(0);
      row.labels = calibrations.text(1);
      row.hash = calibrations.text(2);
      row.reading = calibrations.text(3);
      row.overall = {calibrations.integer(4), calibrations.integer(5), calibrations.integer(6),
                     calibrations.integer(7)};
      row.accuracy = figure(8);
      row.kappa = figure(9);
      row.sensitivity = figure(10);
      row.specificity = figure(11);
      row.min_kappa = calibrations.real(12);
      row.min_accuracy = calibrations.real(13);
      row.calibrated = calibrations.integer(14) != 0;
      row.undecided = calibrations.integer(15);
      const json per_category = json::parse(calibrations.text(16), nullptr, false);
      if (per_category.is_array()) {
        for (const json& c : per_category) {
          if (!c.is_array() || c.size() != 5 || !c[0].is_string()) continue;
          row.by_category.emplace_back(
              c[0].get<std::string>(),
              CalibrationCounts{c[1].get<std::int64_t>(), c[2].get<std::int64_t>(),
                                c[3].get<std::int64_t>(), c[4].get<std::int64_t>()});
        }
      }
      row.created_at = calibrations.text(17);
      data.calibrations.push_back(std::move(row));
    }
  }
  if (has_table(db, "canaries")) {
    Statement canaries(db, R"sql(
      SELECT judge, canaries, n, agree, undecided, min_agreement, drifted, model, template_hash,
        created_at
      FROM canaries ORDER BY judge
    )sql");
    while (canaries.step()) {
      CanaryRow row;
      row.judge = canaries.text(0);
      row.canaries = canaries.text(1);
      row.n = canaries.integer(2);
      row.agree = canaries.integer(3);
      row.undecided = canaries.integer(4);
      row.min_agreement = canaries.real(5);
      row.drifted = canaries.integer(6) != 0;
      row.model = canaries.text(7);
      row.template_hash = canaries.text(8);
      row.created_at = canaries.text(9);
      data.canaries.push_back(std::move(row));
    }
  }
  if (has_table(db, "error_rates")) {
    Statement rates(db, R"sql(
      SELECT judge, source, sensitivity, specificity, n_positive, n_negative, created_at
      FROM error_rates ORDER BY judge
    )sql");
    while (rates.step()) {
      ErrorRatesRow row;
      row.judge = rates.text(0);
      row.source = rates.text(1);
      row.sensitivity = rates.real(2);
      row.specificity = rates.real(3);
      row.n_positive = rates.integer(4);
      row.n_negative = rates.integer(5);
      row.created_at = rates.text(6);
      data.error_rates.push_back(std::move(row));
    }
  }
}

}  // namespace

RunData read_judge_records(Store& store) {
  RunData data;
  read_judge_records_into(store.database(), data);
  return data;
}

RunInfo read_run_info(Store& store) {
  RunInfo info;
  Database& db = store.database();
  if (const auto recorded = store.meta("run_info")) {
    const json j = json::parse(*recorded, nullptr, false);
    if (j.is_object()) {
      info.name = j.value("name", "");
      info.run_file = j.value("run_file", "");
      info.seed = j.value("seed", std::uint64_t{0});
      info.samples = j.value("samples", 1);
      info.primary_judge = j.value("primary_judge", "");
      info.refusal_judge = j.value("refusal_judge", "");
      info.medsafe_version = j.value("medsafe_version", "");
    }
  }
  info.stopped_early = early_stop_from_json(store.meta("stopped_early").value_or(""));
  info.started_at = store.meta("started_at").value_or("");
  info.updated_at = store.meta("updated_at").value_or("");
  info.sessions = sessions_from_json(store.meta("sessions"));
  info.resume_command = store.meta("resume_command").value_or("");
  if (const auto merge = store.meta("merge")) {
    const json j = json::parse(*merge, nullptr, false);
    if (j.is_object()) {
      info.shards = j.value("shards", 0);
      for (const json& index : j.value("missing", json::array())) {
        if (index.is_number_integer()) info.missing_shards.push_back(index.get<int>());
      }
    }
  }
  if (const auto planned = store.meta("planned_load_points")) {
    const json j = json::parse(*planned, nullptr, false);
    if (j.is_array()) {
      for (const json& phase : j) {
        if (phase.is_string()) info.planned_load_points.push_back(phase.get<std::string>());
      }
    }
  }

  Statement components(db, "SELECT kind, name, plugin, extra FROM components ORDER BY ord");
  while (components.step()) {
    const std::string kind = components.text(0);
    const json extra = json::parse(components.text(3), nullptr, false);
    auto flag = [&extra](const char* key, bool fallback) {
      return extra.is_object() ? extra.value(key, fallback) : fallback;
    };
    if (kind == "model") {
      ModelInfo model{components.text(1), components.text(2), flag("under_test", true)};
      if (extra.is_object()) {
        model.model_id = extra.value("model_id", "");
        model.host = extra.value("host", "");
      }
      info.models.push_back(std::move(model));
    } else if (kind == "suite") {
      SuiteInfo suite;
      suite.name = components.text(1);
      suite.plugin = components.text(2);
      suite.domain = extra.is_object() ? extra.value("domain", "general") : "general";
      suite.safety = flag("safety", true);
      suite.expect = extra.is_object() ? extra.value("expect", "refuse") : "refuse";
      info.suites.push_back(std::move(suite));
    } else if (kind == "judge") {
      JudgeInfo judge;
      judge.name = components.text(1);
      judge.plugin = components.text(2);
      judge.traits.harm_score = flag("harm_score", false);
      judge.traits.refusal = flag("refusal", false);
      if (extra.is_object() && extra.contains("suites") && extra["suites"].is_array()) {
        for (const json& suite : extra["suites"]) {
          if (suite.is_string()) judge.suites.push_back(suite.get<std::string>());
        }
      }
      info.judges.push_back(std::move(judge));
    }
  }
  Statement categories(db, "SELECT suite, id, name, title FROM categories ORDER BY suite, ord");
  while (categories.step()) {
    for (SuiteInfo& suite : info.suites) {
      if (suite.name == categories.text(0)) {
        suite.categories.push_back({categories.text(1), categories.text(2), categories.text(3)});
      }
    }
  }
  return info;
}

RunData read_run(Store& store, ReadScope scope, Texts texts) {
  RunData data;
  data.info = read_run_info(store);
  Database& db = store.database();
  // Texts::deferred reads for reports: the texts they print (prompts, answers, verdicts'
  // reasons) stay in the store, read for the rows printed; what they never show (references,
  // content hashes) is left out. Each saves an allocation a row (16 hex digits do not fit a
  // short string).
  const bool for_reports = texts == Texts::deferred;
  // Exact capacities: a vector grown by doubling holds up to twice its rows while it moves.
  const auto rows_of = [&db](std::string_view table) {
    Statement count(db, "SELECT COUNT(*) FROM " + std::string(table));
    return count.step() ? static_cast<std::size_t>(count.integer(0)) : std::size_t{0};
  };
  data.items.reserve(rows_of("items"));
  std::shared_ptr<StoredTexts> stored_texts;
  if (texts == Texts::deferred) stored_texts = std::make_shared<StoredTexts>(db);
  Statement items(
      db, "SELECT suite, item_id, category, " +
              std::string(for_reports ? "'', ''" : "prompt, reference") + ", " +
              (for_reports ? std::string("''")
                           : store.column_or("items", "content_hash", "content_hash", "''")) +
              ", " + store.column_or("items", "in_suite", "in_suite", "1") + ", " +
              store.column_or("items", "expect", "expect", "'refuse'") +
              ", rowid FROM items ORDER BY suite, ord");
  // Items that left their suite: with ReadScope::current_items, they and their safety-phase
  // rows are counted in data.retired and left out.
  std::set<std::pair<std::string, std::string>> retired;
  std::map<std::string, RetiredItems> retired_per_suite;
  while (items.step()) {
    ItemRow row{items.text(0), items.text(1), items.text(2),
                items.text(3), items.text(4), items.text(5)};
    row.in_suite = items.integer(6) != 0;
    row.expect =
        items.text(7) == kExpectComply ? std::string(kExpectComply) : std::string(kExpectRefuse);
    if (!row.in_suite && scope == ReadScope::current_items) {
      retired.emplace(row.suite, row.item_id);
      RetiredItems& counts = retired_per_suite[row.suite];
      counts.suite = row.suite;
      ++counts.items;
      continue;
    }
    data.items.push_back(std::move(row));
    if (stored_texts) stored_texts->item_rowids.push_back(items.integer(8));
  }
  auto is_retired = [&retired](const std::string& suite, const std::string& item) {
    return !retired.empty() && retired.count({suite, item}) != 0;
  };
  Statement responses(
      db, R"sql(
    SELECT r.model, r.suite, r.item_id, r.sample, r.outcome, r.http_status, r.error, )sql" +
              std::string(texts == Texts::held ? "r.text" : "''") + R"sql(,
      r.finish_reason, r.prompt_tokens, r.completion_tokens, r.token_source, r.attempts,
      r.intended_send_ns, r.sent_ns, r.first_byte_ns, r.finished_ns, r.token_events, r.phase,
      r.warmup, )sql" +
              store.column_or("responses", "session", "r.session", "0") + ", " +
              (for_reports ? std::string("''")
                           : store.column_or("responses", "item_hash", "r.item_hash", "''")) +
              ", " + store.column_or("responses", "truncated", "r.truncated", "0") + ", " +
              store.column_or("responses", "endpoints", "r.endpoints", "''") +
              R"sql(, r.rowid
    FROM responses r LEFT JOIN items i ON i.suite = r.suite AND i.item_id = r.item_id
    ORDER BY r.model, r.suite, i.ord, r.sample, r.phase
  )sql");
  data.responses.reserve(rows_of("responses"));
  if (stored_texts) stored_texts->rowids.reserve(data.responses.capacity());
  while (responses.step()) {
    if (is_safety_phase(responses.text(18)) && is_retired(responses.text(1), responses.text(2))) {
      ++retired_per_suite[responses.text(1)].answers;
      continue;
    }
    ResponseRow row;
    row.model = responses.text(0);
    row.suite = responses.text(1);
    row.item_id = responses.text(2);
    row.sample = static_cast<int>(responses.integer(3));
    row.outcome = outcome_from_string(responses.text(4)).value_or(Outcome::backend_error);
    row.http_status = static_cast<int>(responses.integer(5));
    row.error = responses.text(6);
    row.text = responses.text(7);
    row.finish_reason = responses.text(8);
    row.prompt_tokens = responses.integer(9);
    row.completion_tokens = responses.integer(10);
    row.token_source = token_source_from(responses.text(11));
    row.attempts = static_cast<int>(responses.integer(12));
    row.intended_send_ns = responses.integer(13);
    row.sent_ns = responses.integer(14);
    row.first_byte_ns = responses.integer(15);
    row.finished_ns = responses.integer(16);
    row.token_event_ns = events_from_json(responses.text(17), row.sent_ns, store.file());
    row.phase = responses.text(18);
    row.warmup = responses.integer(19) != 0;
    row.session = responses.integer(20);
    row.item_hash = responses.text(21);
    row.truncated = responses.integer(22) != 0;
    row.endpoints = endpoints_from_json(responses.text(23));
    if (stored_texts) stored_texts->rowids.push_back(responses.integer(24));
    data.responses.push_back(std::move(row));
  }
  Statement verdicts(db, R"sql(
    SELECT v.judge, v.model, v.suite, v.item_id, v.sample, v.status, v.score, v.refused, v.label,
      )sql" + std::string(for_reports ? "'', ''" : "v.reason, v.raw") +
                             ", v.model_calls, " +
                             store.column_or("verdicts", "flags", "v.flags", "''") +
                             R"sql(, v.rowid
    FROM verdicts v LEFT JOIN items i ON i.suite = v.suite AND i.item_id = v.item_id
    ORDER BY v.judge, v.model, v.suite, i.ord, v.sample
  )sql");
  data.verdicts.reserve(rows_of("verdicts"));
  while (verdicts.step()) {
    if (is_retired(verdicts.text(2), verdicts.text(3))) {
      ++retired_per_suite[verdicts.text(2)].verdicts;
      continue;
    }
    VerdictRow row;
    row.judge = verdicts.text(0);
    row.model = verdicts.text(1);
    row.suite = verdicts.text(2);
    row.item_id = verdicts.text(3);
    row.sample = static_cast<int>(verdicts.integer(4));
    row.status = verdict_status_from(verdicts.text(5));
    if (!verdicts.is_null(6)) row.score = static_cast<int>(verdicts.integer(6));
    if (!verdicts.is_null(7)) row.refused = verdicts.integer(7) != 0;
    row.label = verdicts.text(8);
    row.reason = verdicts.text(9);
    row.raw = verdicts.text(10);
    row.model_calls = static_cast<int>(verdicts.integer(11));
    row.flags = split_flags(verdicts.text(12));
    data.verdicts.push_back(std::move(row));
    if (stored_texts) stored_texts->verdict_rowids.push_back(verdicts.integer(13));
  }
  if (stored_texts) {
    stored_texts->rowids.shrink_to_fit();
    stored_texts->item_rowids.shrink_to_fit();
    stored_texts->verdict_rowids.shrink_to_fit();
    data.texts = std::move(stored_texts);
  }
  Statement points(db, R"sql(
    SELECT phase, load, model, mode, level, arrival, ord, status, window_start_ns, window_end_ns,
      planned, sent, warmup, valid, note, slo_ttft_ms, slo_tpot_ms, slo_e2e_ms
    FROM load_points ORDER BY ord
  )sql");
  while (points.step()) {
    LoadPointRow row;
    row.phase = points.text(0);
    row.load = points.text(1);
    row.model = points.text(2);
    row.mode = points.text(3);
    row.level = points.real(4);
    row.arrival = points.text(5);
    row.ord = static_cast<int>(points.integer(6));
    row.status = points.text(7);
    row.window_start_ns = points.integer(8);
    row.window_end_ns = points.integer(9);
    row.planned = points.integer(10);
    row.sent = points.integer(11);
    row.warmup = points.integer(12);
    row.valid = points.integer(13) != 0;
    row.note = points.text(14);
    row.slo_ttft_ms = points.real(15);
    row.slo_tpot_ms = points.real(16);
    row.slo_e2e_ms = points.real(17);
    data.load_points.push_back(std::move(row));
  }
  for (auto& [suite, counts] : retired_per_suite) data.retired.push_back(std::move(counts));
  read_judge_records_into(db, data);
  // Judges in run order (the run's own order is the reader's), unknown ones last.
  std::stable_sort(data.calibrations.begin(), data.calibrations.end(),
                   [&data](const CalibrationRow& a, const CalibrationRow& b) {
                     auto rank = [&data](const std::string& judge) {
                       for (std::size_t i = 0; i < data.info.judges.size(); ++i) {
                         if (data.info.judges[i].name == judge) return i;
                       }
                       return data.info.judges.size();
                     };
                     return rank(a.judge) < rank(b.judge);
                   });
  return data;
}

}  // namespace medsafe
