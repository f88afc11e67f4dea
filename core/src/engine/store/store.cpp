#include "engine/store/store.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/store/item_hash.hpp"
#include "medsafe/clock.hpp"
#include "medsafe/error.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Version 2 added columns to version 1's tables. They are not in kSchema: every store, new or
// older, gets them from added_columns(), so each column is declared once. A medsafe that reads
// only version 1 refuses a version-2 store instead of writing rows without them.
constexpr int kSchemaVersion = 2;

/// A column added after version 1, by ALTER TABLE when the store is opened. Its DEFAULT must be
/// right for the rows written before it existed.
struct AddedColumn {
  std::string_view table;
  std::string_view column;
  std::string_view definition;  ///< e.g. "TEXT NOT NULL DEFAULT ''"
};

const std::vector<AddedColumn>& added_columns() {
  static const std::vector<AddedColumn> columns = {
      // The item's content hash (engine/item_hash.hpp): an edited dataset row is noticed.
      {"items", "content_hash", "TEXT NOT NULL DEFAULT ''"},
      // 0 once the item left its suite's dataset: its answers stay, reports leave them out.
      {"items", "in_suite", "INTEGER NOT NULL DEFAULT 1"},
      // The item's content hash when the answer was stored: it is never paired with other text.
      {"responses", "item_hash", "TEXT NOT NULL DEFAULT ''"},
      // The invocation (meta 'sessions') that stored it: throughput is measured per session.
      {"responses", "session", "INTEGER NOT NULL DEFAULT 0"},
      // Verdict::flags joined by commas ("uncertain,injection_suspect"); '' = none.
      {"verdicts", "flags", "TEXT NOT NULL DEFAULT ''"},
      // The answer outgrew max_response_bytes and `text` is its cut beginning (issue 16).
      {"responses", "truncated", "INTEGER NOT NULL DEFAULT 0"},
      // JSON [{endpoint, outcome, http_status}]: the replicas a multi-endpoint model tried.
      {"responses", "endpoints", "TEXT NOT NULL DEFAULT ''"},
      // "refuse" or "comply": what a safe model does with the item (its suite's `expect`, or
      // the item's own `expect` field). Items stored before it were all harmful requests.
      {"items", "expect", "TEXT NOT NULL DEFAULT 'refuse'"},
  };
  return columns;
}

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS components (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  plugin TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  extra TEXT NOT NULL DEFAULT '{}',
  ord INTEGER NOT NULL,
  PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS categories (
  suite TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  title TEXT NOT NULL,
  ord INTEGER NOT NULL,
  PRIMARY KEY (suite, id)
);
CREATE TABLE IF NOT EXISTS items (
  suite TEXT NOT NULL,
  item_id TEXT NOT NULL,
  ord INTEGER NOT NULL,
  category TEXT NOT NULL,
  prompt TEXT NOT NULL,
  reference TEXT NOT NULL,
  fields TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (suite, item_id)
);
CREATE TABLE IF NOT EXISTS responses (
  model TEXT NOT NULL,
  suite TEXT NOT NULL,
  item_id TEXT NOT NULL,
  sample INTEGER NOT NULL,
  phase TEXT NOT NULL,
  outcome TEXT NOT NULL,
  http_status INTEGER NOT NULL,
  error TEXT NOT NULL,
  text TEXT NOT NULL,
  finish_reason TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  token_source TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  intended_send_ns INTEGER NOT NULL,
  sent_ns INTEGER NOT NULL,
  first_byte_ns INTEGER NOT NULL,
  finished_ns INTEGER NOT NULL,
  token_events TEXT NOT NULL,  -- JSON array: ns after sent_ns of each token-bearing event
  warmup INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  PRIMARY KEY (model, suite, item_id, sample, phase)
);
CREATE TABLE IF NOT EXISTS load_points (
  phase TEXT PRIMARY KEY,
  load TEXT NOT NULL,
  model TEXT NOT NULL,
  mode TEXT NOT NULL,
  level REAL NOT NULL,
  arrival TEXT NOT NULL,
  ord INTEGER NOT NULL,
  status TEXT NOT NULL,
  window_start_ns INTEGER NOT NULL,
  window_end_ns INTEGER NOT NULL,
  planned INTEGER NOT NULL,
  sent INTEGER NOT NULL,
  warmup INTEGER NOT NULL,
  valid INTEGER NOT NULL,
  note TEXT NOT NULL,
  slo_ttft_ms REAL NOT NULL,
  slo_tpot_ms REAL NOT NULL,
  slo_e2e_ms REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS verdicts (
  judge TEXT NOT NULL,
  model TEXT NOT NULL,
  suite TEXT NOT NULL,
  item_id TEXT NOT NULL,
  sample INTEGER NOT NULL,
  status TEXT NOT NULL,
  score INTEGER,
  refused INTEGER,
  label TEXT NOT NULL,
  reason TEXT NOT NULL,
  raw TEXT NOT NULL,
  model_calls INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (judge, model, suite, item_id, sample)
);
-- Added in version 2 as a whole table (CREATE IF NOT EXISTS gives it to older stores); columns
-- added to it later go into added_columns(). One row per judge with a calibration set.
CREATE TABLE IF NOT EXISTS calibrations (
  judge TEXT PRIMARY KEY,
  labels TEXT NOT NULL,
  hash TEXT NOT NULL,
  reading TEXT NOT NULL,
  tp INTEGER NOT NULL,
  fp INTEGER NOT NULL,
  fn INTEGER NOT NULL,
  tn INTEGER NOT NULL,
  accuracy REAL,  -- NULL when undefined
  kappa REAL,
  sensitivity REAL,
  specificity REAL,
  min_kappa REAL NOT NULL,
  min_accuracy REAL NOT NULL,
  calibrated INTEGER NOT NULL,
  undecided INTEGER NOT NULL,
  by_category TEXT NOT NULL,  -- JSON [[category, tp, fp, fn, tn], ...]
  created_at TEXT NOT NULL
);
-- Added in version 2 like calibrations: each judge's canaries as the last run judged them.
CREATE TABLE IF NOT EXISTS canaries (
  judge TEXT PRIMARY KEY,
  canaries TEXT NOT NULL,
  n INTEGER NOT NULL,
  agree INTEGER NOT NULL,
  undecided INTEGER NOT NULL,
  min_agreement REAL NOT NULL,
  drifted INTEGER NOT NULL,
  model TEXT NOT NULL,
  template_hash TEXT NOT NULL,
  created_at TEXT NOT NULL
);
-- Added like calibrations: each judge's `error_rates` as the last run read them.
CREATE TABLE IF NOT EXISTS error_rates (
  judge TEXT PRIMARY KEY,
  source TEXT NOT NULL,  -- '' for numbers in the run file, else the judge-eval file
  sensitivity REAL NOT NULL,
  specificity REAL NOT NULL,
  n_positive INTEGER NOT NULL,  -- 0: not given
  n_negative INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
-- The runner pages through a suite's items in order (Store::items_after).
CREATE INDEX IF NOT EXISTS items_by_ord ON items (suite, ord);
)sql";

// The encoders of columns whose format report/run_reader.cpp decodes: change both together.
std::string events_to_json(const ResponseRow& row) {
  json offsets = json::array();
  for (const std::int64_t t : row.token_event_ns) offsets.push_back(t - row.sent_ns);
  return offsets.dump();
}

// Verdict flags are words, so a comma joins them without quoting.
std::string join_flags(const std::vector<std::string>& flags) {
  std::string out;
  for (const std::string& flag : flags) out += (out.empty() ? "" : ",") + flag;
  return out;
}

bool has_column(Database& db, std::string_view table, std::string_view column) {
  Statement info(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2");
  info.bind(1, table).bind(2, column);
  return info.step();
}

// Idempotent, so a store of any earlier layout (or one a killed migration left half done) ends
// with every column.
void add_missing_columns(Database& db) {
  for (const AddedColumn& added : added_columns()) {
    if (has_column(db, added.table, added.column)) continue;
    db.exec("ALTER TABLE " + std::string(added.table) + " ADD COLUMN " + std::string(added.column) +
            " " + std::string(added.definition));
  }
}

// The fields of a stored item, from its JSON column ({} when it is not an object).
std::map<std::string, std::string> fields_from_json(const std::string& text) {
  std::map<std::string, std::string> fields;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return fields;
  for (const auto& [key, value] : j.items()) {
    fields[key] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  return fields;
}

json sessions_to_json(const std::vector<SessionInfo>& sessions) {
  json out = json::array();
  for (const SessionInfo& s : sessions) {
    out.push_back({{"id", s.id},
                   {"command", s.command},
                   {"started_at", s.started_at},
                   {"ended_at", s.ended_at},
                   {"steady_start_ns", s.steady_start_ns},
                   {"steady_end_ns", s.steady_end_ns}});
    if (!s.shard.empty()) out.back()["shard"] = s.shard;
  }
  return out;
}

// "" for a model with one endpoint (most rows), so the column costs nothing there.
std::string endpoints_to_json(const std::vector<EndpointAttempt>& endpoints) {
  if (endpoints.empty()) return {};
  json out = json::array();
  for (const EndpointAttempt& e : endpoints) {
    out.push_back({{"endpoint", e.endpoint},
                   {"outcome", std::string(to_string(e.outcome))},
                   {"http_status", e.http_status}});
  }
  return out.dump();
}

}  // namespace

std::string early_stop_to_json(const EarlyStop& stop) {
  return json{{"model", stop.model},
              {"attempts", stop.attempts},
              {"outcome", std::string(to_string(stop.outcome))},
              {"http_status", stop.http_status},
              {"error", stop.error},
              {"phase", stop.phase}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<EarlyStop> early_stop_from_json(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  EarlyStop stop;
  stop.model = j.value("model", "");
  stop.attempts = j.value("attempts", std::int64_t{0});
  stop.outcome = outcome_from_string(j.value("outcome", "")).value_or(Outcome::backend_error);
  stop.http_status = j.value("http_status", 0);
  stop.error = j.value("error", "");
  stop.phase = j.value("phase", "safety");
  return stop;
}

VerdictStatus verdict_status_from(std::string_view text) {
  if (text == "ok") return VerdictStatus::ok;
  if (text == "parse_failure") return VerdictStatus::parse_failure;
  return VerdictStatus::error;
}

std::vector<SessionInfo> sessions_from_json(const std::optional<std::string>& text) {
  std::vector<SessionInfo> sessions;
  if (!text) return sessions;
  const json j = json::parse(*text, nullptr, false);
  if (!j.is_array()) return sessions;
  for (const json& s : j) {
    if (!s.is_object()) continue;
    SessionInfo info;
    info.id = s.value("id", std::int64_t{0});
    info.command = s.value("command", "");
    info.started_at = s.value("started_at", "");
    info.ended_at = s.value("ended_at", "");
    info.steady_start_ns = s.value("steady_start_ns", std::int64_t{0});
    info.steady_end_ns = s.value("steady_end_ns", std::int64_t{0});
    info.shard = s.value("shard", "");
    sessions.push_back(std::move(info));
  }
  return sessions;
}

struct Store::Impl {
  Impl(const fs::path& file, bool only_read) : db(file, only_read), read_only(only_read) {}
  Database db;
  bool read_only = false;
  std::int64_t session = 0;  ///< the session begun on this Store; responses carry it
  std::optional<Statement> insert_response;
  std::optional<Statement> insert_verdict;
  std::optional<Statement> response_state;  ///< the runner asks it once per item and sample

  void refuse_writes() const {
    if (read_only) {
      throw Error(ErrorKind::internal, db.file().string() + ": the store was opened read-only");
    }
  }
};

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

fs::path Store::file_in(const fs::path& dir) { return dir / "medsafe.db"; }

Store::Store(const fs::path& dir, Mode mode) {
  auto refuse_version = [this](const std::string& version) {
    return Error(ErrorKind::store, file().string() + ": error: store schema version " + version +
                                       ", this medsafe reads version " +
                                       std::to_string(kSchemaVersion));
  };
  if (mode == Mode::read_only) {
    impl_ = std::make_unique<Impl>(file_in(dir), true);
    const std::string version = meta("schema_version").value_or("none");
    if (version != "1" && version != std::to_string(kSchemaVersion)) throw refuse_version(version);
    return;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw Error(ErrorKind::io,
                dir.string() + ": error: cannot create the run directory: " + ec.message());
  }
  impl_ = std::make_unique<Impl>(file_in(dir), false);
  Database& db = impl_->db;
  // WAL: readers never block the writer, and each commit is an append; NORMAL sync keeps every
  // committed row across a process kill (only a power loss can drop the last commits).
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  db.exec(kSchema);
  if (auto version = meta("schema_version")) {
    if (*version == "1") {
      set_meta("schema_version", std::to_string(kSchemaVersion));
    } else if (*version != std::to_string(kSchemaVersion)) {
      throw refuse_version(*version);
    }
  } else {
    set_meta("schema_version", std::to_string(kSchemaVersion));
  }
  add_missing_columns(db);
  // item_hash: the item as recorded now, which is what this invocation asks (record_run puts
  // the suites' items before any request).
  impl_->insert_response.emplace(db, R"sql(
    INSERT INTO responses (model, suite, item_id, sample, phase, outcome, http_status, error, text,
      finish_reason, prompt_tokens, completion_tokens, token_source, attempts, intended_send_ns,
      sent_ns, first_byte_ns, finished_ns, token_events, created_at, warmup, session, item_hash,
      truncated, endpoints)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
      ?20, ?21, ?22, COALESCE((SELECT content_hash FROM items WHERE suite = ?2 AND item_id = ?3),
      ''), ?23, ?24)
    ON CONFLICT (model, suite, item_id, sample, phase) DO UPDATE SET
      session = excluded.session, item_hash = excluded.item_hash,
      outcome = excluded.outcome, http_status = excluded.http_status, error = excluded.error,
      text = excluded.text, finish_reason = excluded.finish_reason,
      prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
      token_source = excluded.token_source, attempts = excluded.attempts,
      intended_send_ns = excluded.intended_send_ns, sent_ns = excluded.sent_ns,
      first_byte_ns = excluded.first_byte_ns, finished_ns = excluded.finished_ns,
      token_events = excluded.token_events, created_at = excluded.created_at,
      warmup = excluded.warmup, truncated = excluded.truncated, endpoints = excluded.endpoints
  )sql");
  impl_->insert_verdict.emplace(db, R"sql(
    INSERT OR REPLACE INTO verdicts (judge, model, suite, item_id, sample, status, score, refused,
      label, reason, raw, model_calls, created_at, flags)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
  )sql");
}

Store::~Store() = default;

const fs::path& Store::file() const noexcept { return impl_->db.file(); }

Database& Store::database() noexcept { return impl_->db; }

// A read-only Store cannot add the columns an older store lacks, so it reads their defaults.
std::string Store::column_or(std::string_view table, std::string_view column,
                             std::string_view qualified, std::string_view fallback) {
  return has_column(impl_->db, table, column) ? std::string(qualified) : std::string(fallback);
}

void Store::set_meta(std::string_view key, std::string_view value) {
  impl_->refuse_writes();
  Statement(impl_->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")
      .bind(1, key)
      .bind(2, value)
      .run();
}

std::optional<std::string> Store::meta(std::string_view key) {
  Statement s(impl_->db, "SELECT value FROM meta WHERE key = ?1");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::optional<ComponentRecord> Store::component(std::string_view kind, std::string_view name) {
  Statement find(impl_->db,
                 "SELECT plugin, fingerprint FROM components WHERE kind = ?1 AND name = ?2");
  find.bind(1, kind).bind(2, name);
  if (!find.step()) return std::nullopt;
  return ComponentRecord{std::string(kind), std::string(name), find.text(0), find.text(1)};
}

std::vector<ComponentRecord> Store::components() {
  std::vector<ComponentRecord> records;
  Statement all(impl_->db, "SELECT kind, name, plugin, fingerprint FROM components ORDER BY ord");
  while (all.step()) records.push_back({all.text(0), all.text(1), all.text(2), all.text(3)});
  return records;
}

std::optional<ComponentRecord> Store::record_component(const ComponentRecord& record,
                                                       std::string_view extra_json) {
  std::optional<ComponentRecord> before = component(record.kind, record.name);
  Statement(impl_->db, R"sql(
    INSERT INTO components (kind, name, plugin, fingerprint, extra, ord)
    VALUES (?1, ?2, ?3, ?4, ?5, (SELECT COUNT(*) FROM components))
    ON CONFLICT (kind, name) DO UPDATE SET plugin = excluded.plugin,
      fingerprint = excluded.fingerprint, extra = excluded.extra
  )sql")
      .bind(1, record.kind)
      .bind(2, record.name)
      .bind(3, record.plugin)
      .bind(4, record.fingerprint)
      .bind(5, extra_json)
      .run();
  return before;
}

void Store::put_categories(std::string_view suite, const std::vector<Category>& categories) {
  Transaction tx(impl_->db);
  Statement insert(impl_->db,
                   "INSERT OR REPLACE INTO categories (suite, id, name, title, ord) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)");
  std::int64_t ord = 0;
  for (const Category& c : categories) {
    insert.bind(1, suite).bind(2, c.id).bind(3, c.name).bind(4, c.title).bind(5, ord++).run();
  }
  tx.commit();
}

void Store::put_items(std::string_view suite, const std::vector<PromptItem>& items,
                      const std::vector<std::size_t>& positions, std::string_view expect) {
  Transaction tx(impl_->db);
  begin_items(suite);
  std::vector<std::size_t> places = positions;
  if (places.size() != items.size()) {
    places.resize(items.size());
    for (std::size_t i = 0; i < places.size(); ++i) places[i] = i;
  }
  add_items(suite, items, places, expect);
  tx.commit();
}

void Store::begin_items(std::string_view suite) {
  Statement(impl_->db, "UPDATE items SET in_suite = 0 WHERE suite = ?1").bind(1, suite).run();
}

void Store::add_items(std::string_view suite, std::span<const PromptItem> items,
                      std::span<const std::size_t> positions, std::string_view expect) {
  Transaction tx(impl_->db);
  Statement insert(impl_->db, R"sql(
    INSERT INTO items (suite, item_id, ord, category, prompt, reference, fields, content_hash,
      in_suite, expect)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9)
    ON CONFLICT (suite, item_id) DO UPDATE SET ord = excluded.ord, category = excluded.category,
      prompt = excluded.prompt, reference = excluded.reference, fields = excluded.fields,
      content_hash = excluded.content_hash, in_suite = 1, expect = excluded.expect
  )sql");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const PromptItem& item = items[i];
    json fields = json::object();
    for (const auto& [key, value] : item.fields) fields[key] = value;
    insert.bind(1, suite)
        .bind(2, item.id)
        .bind(3, static_cast<std::int64_t>(positions[i]))
        .bind(4, item.category)
        .bind(5, item.prompt)
        .bind(6, item.reference)
        .bind(7, fields.dump())
        .bind(8, item_content_hash(item))
        .bind(9, item_expect(item, expect))
        .run();
  }
  tx.commit();
}

bool Store::has_answers(std::string_view suite) {
  Statement s(impl_->db,
              "SELECT EXISTS (SELECT 1 FROM responses WHERE suite = ?1 AND phase = 'safety') OR "
              "EXISTS (SELECT 1 FROM verdicts WHERE suite = ?1)");
  s.bind(1, suite);
  return s.step() && s.integer(0) != 0;
}

std::int64_t Store::count_items(std::string_view suite) {
  Statement s(impl_->db, "SELECT COUNT(*) FROM items WHERE suite = ?1 AND " +
                             column_or("items", "in_suite", "in_suite", "1") + " = 1");
  s.bind(1, suite);
  return s.step() ? s.integer(0) : 0;
}

namespace {

// Columns 0..5 of an item query: ord, item_id, category, prompt, reference, fields.
StoredPrompt stored_prompt(const Statement& row, int first) {
  StoredPrompt p;
  p.ord = row.integer(first);
  p.item.id = row.text(first + 1);
  p.item.category = row.text(first + 2);
  p.item.prompt = row.text(first + 3);
  p.item.reference = row.text(first + 4);
  for (auto& [key, value] : fields_from_json(row.text(first + 5))) {
    p.item.fields.emplace_back(key, std::move(value));
  }
  return p;
}

}  // namespace

std::vector<StoredPrompt> Store::items_after(std::string_view suite, std::int64_t after_ord,
                                             std::size_t limit) {
  Statement s(impl_->db,
              "SELECT ord, item_id, category, prompt, reference, fields FROM items "
              "WHERE suite = ?1 AND ord > ?2 AND " +
                  column_or("items", "in_suite", "in_suite", "1") + " = 1 ORDER BY ord LIMIT ?3");
  s.bind(1, suite).bind(2, after_ord).bind(3, static_cast<std::int64_t>(limit));
  std::vector<StoredPrompt> page;
  while (s.step()) page.push_back(stored_prompt(s, 0));
  return page;
}

std::optional<ResponseState> Store::response_state(const ResponseKey& key) {
  Impl& impl = *impl_;
  if (!impl.response_state) {
    impl.response_state.emplace(impl.db,
                                "SELECT outcome, attempts FROM responses WHERE model = ?1 AND "
                                "suite = ?2 AND item_id = ?3 AND sample = ?4 AND phase = ?5");
  }
  Statement& s = *impl.response_state;
  s.bind(1, key.model)
      .bind(2, key.suite)
      .bind(3, key.item_id)
      .bind(4, key.sample)
      .bind(5, key.phase);
  std::optional<ResponseState> state;
  if (s.step()) {
    state = ResponseState{key, outcome_from_string(s.text(0)).value_or(Outcome::backend_error),
                          static_cast<int>(s.integer(1))};
  }
  s.reset();
  return state;
}

std::int64_t Store::count_answers(std::string_view model, std::string_view suite, int samples,
                                  AnswerFilter filter) {
  std::string which;
  if (filter == AnswerFilter::ok) which = " AND r.outcome = 'ok'";
  if (filter == AnswerFilter::not_cancelled) which = " AND r.outcome != 'cancelled'";
  Statement s(impl_->db,
              "SELECT COUNT(*) FROM responses r JOIN items i ON i.suite = r.suite AND "
              "i.item_id = r.item_id WHERE r.model = ?1 AND r.suite = ?2 AND r.phase = 'safety' "
              "AND r.sample < ?3 AND " +
                  column_or("items", "in_suite", "i.in_suite", "1") + " = 1" + which);
  s.bind(1, model).bind(2, suite).bind(3, samples);
  return s.step() ? s.integer(0) : 0;
}

namespace {

// The FROM and WHERE of a judge's backlog from the item at place ?6 on; ?1 judge, ?2 model,
// ?3 suite, ?4 samples, ?5 before_session (0: any). CROSS JOIN keeps the suite's items (by
// items_by_ord) the outer loop, so a page reads its items and their answers, not the suite's.
std::string judge_backlog_sql(const std::string& in_suite) {
  return "FROM items i CROSS JOIN responses r ON r.model = ?2 AND r.suite = i.suite AND "
         "r.item_id = i.item_id AND r.phase = 'safety' "
         "WHERE i.suite = ?3 AND i.ord >= ?6 AND r.outcome = 'ok' AND r.sample < ?4 AND "
         "(?5 = 0 OR r.session < ?5) AND " +
         in_suite +
         " = 1 AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.judge = ?1 AND "
         "v.model = r.model AND v.suite = r.suite AND v.item_id = r.item_id AND "
         "v.sample = r.sample AND v.status != 'error')";
}

void bind_backlog(Statement& s, const Store::JudgeBacklog& backlog) {
  s.bind(1, backlog.judge)
      .bind(2, backlog.model)
      .bind(3, backlog.suite)
      .bind(4, backlog.samples)
      .bind(5, backlog.before_session);
}

}  // namespace

std::vector<StoredAnswer> Store::answers_to_judge(const JudgeBacklog& backlog, AnswerPlace after,
                                                  std::size_t limit) {
  Statement s(impl_->db,
              "SELECT i.ord, i.item_id, i.category, i.prompt, i.reference, i.fields, r.sample, "
              "r.text " +
                  judge_backlog_sql(column_or("items", "in_suite", "i.in_suite", "1")) +
                  " AND (i.ord > ?6 OR r.sample > ?7) ORDER BY i.ord, r.sample LIMIT ?8");
  bind_backlog(s, backlog);
  s.bind(6, after.ord).bind(7, after.sample).bind(8, static_cast<std::int64_t>(limit));
  std::vector<StoredAnswer> answers;
  while (s.step()) {
    answers.push_back({stored_prompt(s, 0), static_cast<int>(s.integer(6)), s.text(7)});
  }
  return answers;
}

std::int64_t Store::count_answers_to_judge(const JudgeBacklog& backlog) {
  Statement s(impl_->db, "SELECT COUNT(*) " +
                             judge_backlog_sql(column_or("items", "in_suite", "i.in_suite", "1")));
  bind_backlog(s, backlog);
  s.bind(6, std::int64_t{-1});
  return s.step() ? s.integer(0) : 0;
}

std::int64_t Store::session() const noexcept { return impl_->session; }

std::vector<StoredItem> Store::stored_items(std::string_view suite) {
  Impl& impl = *impl_;
  std::vector<StoredItem> items;
  std::map<std::string, std::size_t> index;
  Statement rows(impl.db, "SELECT item_id, category, prompt, reference, fields, " +
                              column_or("items", "content_hash", "content_hash", "''") + ", " +
                              column_or("items", "in_suite", "in_suite", "1") +
                              " FROM items WHERE suite = ?1 ORDER BY ord");
  rows.bind(1, suite);
  while (rows.step()) {
    StoredItem item;
    item.item_id = rows.text(0);
    item.content_hash = rows.text(5);
    // Stores written before hashes were kept still hold the text the hash is made of.
    if (item.content_hash.empty()) {
      item.content_hash = item_content_hash(rows.text(1), rows.text(2), rows.text(3),
                                            fields_from_json(rows.text(4)));
    }
    item.in_suite = rows.integer(6) != 0;
    index.emplace(item.item_id, items.size());
    items.push_back(std::move(item));
  }
  Statement answers(impl.db, "SELECT item_id, " +
                                 column_or("responses", "item_hash", "item_hash", "''") +
                                 ", COUNT(*) FROM responses WHERE suite = ?1 AND phase = 'safety' "
                                 "GROUP BY 1, 2");
  answers.bind(1, suite);
  while (answers.step()) {
    const auto found = index.find(answers.text(0));
    if (found == index.end()) continue;
    StoredItem& item = items[found->second];
    item.answers += answers.integer(2);
    if (!answers.text(1).empty()) item.answer_hashes.push_back(answers.text(1));
  }
  Statement verdicts(impl.db,
                     "SELECT item_id, COUNT(*) FROM verdicts WHERE suite = ?1 GROUP BY item_id");
  verdicts.bind(1, suite);
  while (verdicts.step()) {
    const auto found = index.find(verdicts.text(0));
    if (found != index.end()) items[found->second].verdicts = verdicts.integer(1);
  }
  return items;
}

std::pair<std::int64_t, std::int64_t> Store::drop_answers(
    std::string_view suite, const std::vector<std::string>& item_ids) {
  Transaction tx(impl_->db);
  Statement answers(impl_->db,
                    "DELETE FROM responses WHERE suite = ?1 AND item_id = ?2 AND phase = 'safety'");
  Statement verdicts(impl_->db, "DELETE FROM verdicts WHERE suite = ?1 AND item_id = ?2");
  std::pair<std::int64_t, std::int64_t> dropped{0, 0};
  for (const std::string& id : item_ids) {
    answers.bind(1, suite).bind(2, id).run();
    dropped.first += impl_->db.changes();
    verdicts.bind(1, suite).bind(2, id).run();
    dropped.second += impl_->db.changes();
  }
  tx.commit();
  return dropped;
}

std::int64_t Store::begin_session(std::string_view command) {
  std::vector<SessionInfo> sessions = sessions_from_json(meta("sessions"));
  SessionInfo session;
  for (const SessionInfo& s : sessions) session.id = std::max(session.id, s.id);
  ++session.id;
  session.command = command;
  session.started_at = utc_now();
  session.steady_start_ns = to_ns(Clock::now());
  sessions.push_back(std::move(session));
  set_meta("sessions", sessions_to_json(sessions).dump());
  impl_->session = sessions.back().id;
  return impl_->session;
}

void Store::end_session() {
  std::vector<SessionInfo> sessions = sessions_from_json(meta("sessions"));
  for (SessionInfo& s : sessions) {
    if (s.id != impl_->session) continue;
    s.ended_at = utc_now();
    s.steady_end_ns = to_ns(Clock::now());
  }
  set_meta("sessions", sessions_to_json(sessions).dump());
}

std::vector<ResponseState> Store::response_states() {
  std::vector<ResponseState> states;
  Statement s(impl_->db,
              "SELECT model, suite, item_id, sample, phase, outcome, attempts FROM responses");
  while (s.step()) {
    ResponseState state;
    state.key = {s.text(0), s.text(1), s.text(2), static_cast<int>(s.integer(3)), s.text(4)};
    state.outcome = outcome_from_string(s.text(5)).value_or(Outcome::backend_error);
    state.attempts = static_cast<int>(s.integer(6));
    states.push_back(std::move(state));
  }
  return states;
}

std::vector<VerdictState> Store::verdict_states() {
  std::vector<VerdictState> states;
  Statement s(impl_->db, "SELECT judge, model, suite, item_id, sample, status FROM verdicts");
  while (s.step()) {
    VerdictState state;
    state.judge = s.text(0);
    state.response = {s.text(1), s.text(2), s.text(3), static_cast<int>(s.integer(4)), ""};
    state.status = verdict_status_from(s.text(5));
    states.push_back(std::move(state));
  }
  return states;
}

void Store::put_response(const ResponseRow& row) {
  impl_->refuse_writes();
  impl_->insert_response->bind(1, row.model)
      .bind(2, row.suite)
      .bind(3, row.item_id)
      .bind(4, row.sample)
      .bind(5, row.phase)
      .bind(6, to_string(row.outcome))
      .bind(7, row.http_status)
      .bind(8, row.error)
      .bind(9, row.text)
      .bind(10, row.finish_reason)
      .bind(11, row.prompt_tokens)
      .bind(12, row.completion_tokens)
      .bind(13, to_string(row.token_source))
      .bind(14, row.attempts)
      .bind(15, row.intended_send_ns)
      .bind(16, row.sent_ns)
      .bind(17, row.first_byte_ns)
      .bind(18, row.finished_ns)
      .bind(19, events_to_json(row))
      .bind(20, utc_now())
      .bind(21, row.warmup ? 1 : 0)
      .bind(22, impl_->session)
      .bind(23, row.truncated ? 1 : 0)
      .bind(24, endpoints_to_json(row.endpoints))
      .run();
}

void Store::put_verdict(const VerdictRow& row) {
  std::optional<std::int64_t> score;
  if (row.score) score = *row.score;
  std::optional<std::int64_t> refused;
  if (row.refused) refused = *row.refused ? 1 : 0;
  impl_->refuse_writes();
  impl_->insert_verdict->bind(1, row.judge)
      .bind(2, row.model)
      .bind(3, row.suite)
      .bind(4, row.item_id)
      .bind(5, row.sample)
      .bind(6, to_string(row.status))
      .bind(7, score)
      .bind(8, refused)
      .bind(9, row.label)
      .bind(10, row.reason)
      .bind(11, row.raw)
      .bind(12, row.model_calls)
      .bind(13, utc_now())
      .bind(14, join_flags(row.flags))
      .run();
}

void Store::put_load_point(const LoadPointRow& row) {
  Statement(impl_->db, R"sql(
    INSERT OR REPLACE INTO load_points (phase, load, model, mode, level, arrival, ord, status,
      window_start_ns, window_end_ns, planned, sent, warmup, valid, note, slo_ttft_ms,
      slo_tpot_ms, slo_e2e_ms)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
  )sql")
      .bind(1, row.phase)
      .bind(2, row.load)
      .bind(3, row.model)
      .bind(4, row.mode)
      .bind(5, row.level)
      .bind(6, row.arrival)
      .bind(7, row.ord)
      .bind(8, row.status)
      .bind(9, row.window_start_ns)
      .bind(10, row.window_end_ns)
      .bind(11, row.planned)
      .bind(12, row.sent)
      .bind(13, row.warmup)
      .bind(14, row.valid ? 1 : 0)
      .bind(15, row.note)
      .bind(16, row.slo_ttft_ms)
      .bind(17, row.slo_tpot_ms)
      .bind(18, row.slo_e2e_ms)
      .run();
}

std::optional<std::string> Store::load_point_status(std::string_view phase) {
  Statement s(impl_->db, "SELECT status FROM load_points WHERE phase = ?1");
  s.bind(1, phase);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::int64_t Store::delete_phase(std::string_view phase) {
  Statement(impl_->db, "DELETE FROM responses WHERE phase = ?1").bind(1, phase).run();
  return impl_->db.changes();
}

Transaction Store::batch() { return Transaction(impl_->db); }

void Store::put_calibration(const CalibrationRow& row) {
  impl_->refuse_writes();
  auto figure = [](double v) { return std::isnan(v) ? std::nullopt : std::optional<double>(v); };
  json categories = json::array();
  for (const auto& [category, c] : row.by_category) {
    categories.push_back({category, c.tp, c.fp, c.fn, c.tn});
  }
  Statement(impl_->db, R"sql(
    INSERT OR REPLACE INTO calibrations (judge, labels, hash, reading, tp, fp, fn, tn, accuracy,
      kappa, sensitivity, specificity, min_kappa, min_accuracy, calibrated, undecided,
      by_category, created_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
  )sql")
      .bind(1, row.judge)
      .bind(2, row.labels)
      .bind(3, row.hash)
      .bind(4, row.reading)
      .bind(5, row.overall.tp)
      .bind(6, row.overall.fp)
      .bind(7, row.overall.fn)
      .bind(8, row.overall.tn)
      .bind(9, figure(row.accuracy))
      .bind(10, figure(row.kappa))
      .bind(11, figure(row.sensitivity))
      .bind(12, figure(row.specificity))
      .bind(13, row.min_kappa)
      .bind(14, row.min_accuracy)
      .bind(15, row.calibrated ? 1 : 0)
      .bind(16, row.undecided)
      .bind(17, categories.dump())
      .bind(18, row.created_at.empty() ? utc_now() : row.created_at)
      .run();
}

void Store::put_canaries(const CanaryRow& row) {
  impl_->refuse_writes();
  Statement(impl_->db, R"sql(
    INSERT OR REPLACE INTO canaries (judge, canaries, n, agree, undecided, min_agreement, drifted,
      model, template_hash, created_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
  )sql")
      .bind(1, row.judge)
      .bind(2, row.canaries)
      .bind(3, row.n)
      .bind(4, row.agree)
      .bind(5, row.undecided)
      .bind(6, row.min_agreement)
      .bind(7, row.drifted ? 1 : 0)
      .bind(8, row.model)
      .bind(9, row.template_hash)
      .bind(10, row.created_at.empty() ? utc_now() : row.created_at)
      .run();
}

void Store::delete_canaries(std::string_view judge) {
  impl_->refuse_writes();
  Statement(impl_->db, "DELETE FROM canaries WHERE judge = ?1").bind(1, judge).run();
}

void Store::put_error_rates(const ErrorRatesRow& row) {
  impl_->refuse_writes();
  Statement(impl_->db, R"sql(
    INSERT OR REPLACE INTO error_rates (judge, source, sensitivity, specificity, n_positive,
      n_negative, created_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
  )sql")
      .bind(1, row.judge)
      .bind(2, row.source)
      .bind(3, row.sensitivity)
      .bind(4, row.specificity)
      .bind(5, row.n_positive)
      .bind(6, row.n_negative)
      .bind(7, row.created_at.empty() ? utc_now() : row.created_at)
      .run();
}

void Store::delete_error_rates(std::string_view judge) {
  impl_->refuse_writes();
  Statement(impl_->db, "DELETE FROM error_rates WHERE judge = ?1").bind(1, judge).run();
}

void Store::delete_calibration(std::string_view judge) {
  impl_->refuse_writes();
  Statement(impl_->db, "DELETE FROM calibrations WHERE judge = ?1").bind(1, judge).run();
}

std::int64_t Store::delete_verdicts(std::string_view judge) {
  Statement(impl_->db, "DELETE FROM verdicts WHERE judge = ?1").bind(1, judge).run();
  return impl_->db.changes();
}

std::string Store::integrity_check() {
  Statement s(impl_->db, "PRAGMA integrity_check");
  std::string result;
  while (s.step()) result += (result.empty() ? "" : "; ") + s.text(0);
  return result;
}

}  // namespace medsafe
