#include "engine/ops/merge.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/run/config_diff.hpp"
#include "engine/run/run_lock.hpp"
#include "engine/run/shard.hpp"
#include "engine/store/sqlite.hpp"
#include "engine/store/store.hpp"
#include "medsafe/error.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// "shard-<i>-of-<N>", the folder a sharded run writes under its run directory.
bool is_shard_folder(const std::string& name) {
  if (!name.starts_with("shard-")) return false;
  const std::size_t of = name.find("-of-");
  if (of == std::string::npos || of <= 6 || of + 4 >= name.size()) return false;
  auto digits = [](std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(std::string_view(name).substr(6, of - 6)) &&
         digits(std::string_view(name).substr(of + 4));
}

/// What merging needs of one shard's store.
struct ShardStore {
  fs::path dir;
  ShardPlan plan;
  json info;  ///< meta run_info
  std::string run_info_text, run_file_text, overrides, planned_load_points;
  std::vector<ComponentRecord> components;
  json sessions = json::array();
  std::string started_at, updated_at;
};

std::string meta_or(Store& store, std::string_view key, std::string fallback = {}) {
  return store.meta(key).value_or(std::move(fallback));
}

ShardStore read_shard(const fs::path& dir) {
  Store store(dir, Store::Mode::read_only);
  ShardStore shard;
  shard.dir = dir;
  const std::optional<std::string> plan = store.meta("shard");
  std::optional<ShardPlan> parsed = plan ? shard_plan_from_json(*plan) : std::nullopt;
  if (!parsed) {
    throw Error(ErrorKind::config, dir.string() +
                                       ": error: not a shard's run directory: its store records "
                                       "no shard (the run was not made with --shard)");
  }
  shard.plan = std::move(*parsed);
  shard.run_info_text = meta_or(store, "run_info", "{}");
  shard.info = json::parse(shard.run_info_text, nullptr, false);
  if (!shard.info.is_object()) shard.info = json::object();
  shard.run_file_text = meta_or(store, "run_file_text");
  shard.overrides = meta_or(store, "run_overrides", "[]");
  shard.planned_load_points = meta_or(store, "planned_load_points", "[]");
  shard.components = store.components();
  const json sessions = json::parse(meta_or(store, "sessions", "[]"), nullptr, false);
  if (sessions.is_array()) shard.sessions = sessions;
  shard.started_at = meta_or(store, "started_at");
  shard.updated_at = meta_or(store, "updated_at");
  return shard;
}

// The first line on which two texts differ, counted from 1.
std::size_t first_different_line(const std::string& a, const std::string& b) {
  std::size_t line = 1;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()) && a[i] == b[i]; ++i) {
    if (a[i] == '\n') ++line;
  }
  return line;
}

std::string section_of(const std::string& kind) { return kind + "s"; }  // "model" -> "models"

// What makes `b` another run than `a`, one phrase each ("seed: 7 there, 8 here").
std::vector<std::string> differences(const ShardStore& a, const ShardStore& b) {
  std::vector<std::string> found;
  if (a.plan.shard.count != b.plan.shard.count) {
    found.push_back("the shard count: " + std::to_string(a.plan.shard.count) + " there, " +
                    std::to_string(b.plan.shard.count) + " here");
  }
  for (const char* key : {"name", "seed", "samples", "primary_judge", "refusal_judge"}) {
    const std::string there = a.info.contains(key) ? a.info[key].dump() : "(absent)";
    const std::string here = b.info.contains(key) ? b.info[key].dump() : "(absent)";
    if (there != here)
      found.push_back(std::string(key) + ": " + there + " there, " + here + " here");
  }
  if (a.run_file_text != b.run_file_text) {
    found.push_back("the run file's text (from line " +
                    std::to_string(first_different_line(a.run_file_text, b.run_file_text)) + ")");
  }
  std::map<std::pair<std::string, std::string>, const ComponentRecord*> theirs;
  for (const ComponentRecord& c : a.components) theirs[{c.kind, c.name}] = &c;
  std::set<std::pair<std::string, std::string>> seen;
  for (const ComponentRecord& c : b.components) {
    seen.insert({c.kind, c.name});
    const auto other = theirs.find({c.kind, c.name});
    const std::string owner = section_of(c.kind) + "." + c.name;
    if (other == theirs.end()) {
      found.push_back(owner + ": only here");
      continue;
    }
    if (other->second->plugin != c.plugin) {
      found.push_back(owner + ".plugin: \"" + other->second->plugin + "\" there, \"" + c.plugin +
                      "\" here");
    } else if (other->second->fingerprint != c.fingerprint) {
      std::string changes =
          describe_changes(owner, diff_fingerprints(other->second->fingerprint, c.fingerprint));
      // describe_changes speaks of a resume: "before" is the first shard, "now" this one.
      found.push_back(changes.empty() ? owner + ": configured differently"
                                      : changes + " (before: there, now: here)");
    }
  }
  for (const auto& [key, record] : theirs) {
    if (!seen.contains(key))
      found.push_back(section_of(key.first) + "." + key.second + ": only there");
  }
  for (const ShardedSuite& s : b.plan.suites) {
    for (const ShardedSuite& t : a.plan.suites) {
      if (t.suite != s.suite || (t.items == s.items && t.digest == s.digest)) continue;
      found.push_back("suite '" + s.suite + "' read another dataset (" + std::to_string(t.items) +
                      " items there, " + std::to_string(s.items) + " here" +
                      (t.items == s.items ? ", other contents)" : ")"));
    }
  }
  return found;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string text;
  for (const std::string& part : parts) text += (text.empty() ? "" : std::string(separator)) + part;
  return text;
}

std::string index_list(const std::vector<int>& indexes) {
  std::vector<std::string> parts;
  for (const int i : indexes) parts.push_back(std::to_string(i));
  return join(parts, ", ");
}

/// A prepared statement on the raw handle: rows are copied value by value, whatever their type.
class RawStatement {
 public:
  RawStatement(Database& db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
      throw Error(ErrorKind::store, db.describe_failure("cannot prepare '" + sql + "'"));
    }
  }
  ~RawStatement() { sqlite3_finalize(stmt_); }
  RawStatement(const RawStatement&) = delete;
  RawStatement& operator=(const RawStatement&) = delete;
  [[nodiscard]] sqlite3_stmt* get() const noexcept { return stmt_; }
  [[nodiscard]] Database& db() const noexcept { return db_; }

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

std::vector<std::string> columns_of(Database& db, const std::string& table) {
  std::vector<std::string> columns;
  Statement info(db, "SELECT name FROM pragma_table_info(?1)");
  info.bind(1, table);
  while (info.step()) columns.push_back(info.text(0));
  return columns;
}

// Copies the rows of `table` that `where` selects from `from` into `into`, column by column for
// the columns both have (another medsafe's added columns come along; ones the shard lacks take
// their defaults). `select_as` replaces a column by an expression over the shard's row. A row
// whose key is taken already is an error naming `shard_dir`: shards of one run never overlap.
std::int64_t copy_rows(Database& from, Database& into, const std::string& table,
                       const std::string& where,
                       const std::map<std::string, std::string>& select_as,
                       const fs::path& shard_dir) {
  const std::vector<std::string> source = columns_of(from, table);
  std::string names, selects, slots;
  int n = 0;
  for (const std::string& column : columns_of(into, table)) {
    if (std::find(source.begin(), source.end(), column) == source.end()) continue;
    const auto expression = select_as.find(column);
    names += (n == 0 ? "" : ", ") + column;
    selects += (n == 0 ? "" : ", ") + (expression == select_as.end() ? column : expression->second);
    ++n;
    slots += (n == 1 ? "?" : ", ?") + std::to_string(n);
  }
  RawStatement read(from, "SELECT " + selects + " FROM " + table + where);
  RawStatement write(into, "INSERT INTO " + table + " (" + names + ") VALUES (" + slots + ")");
  std::int64_t copied = 0;
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(read.get())) == SQLITE_ROW) {
    for (int i = 0; i < n; ++i) {
      sqlite3_bind_value(write.get(), i + 1, sqlite3_column_value(read.get(), i));
    }
    const int written = sqlite3_step(write.get());
    if (written != SQLITE_DONE) {
      const bool taken = (written & 0xff) == SQLITE_CONSTRAINT;
      throw Error(
          ErrorKind::store,
          taken ? shard_dir.string() + ": error: a row of its " + table +
                      " is in another shard too; the shards overlap (were they made by "
                      "different medsafe versions?)"
                : into.describe_failure("cannot copy the " + table + " of " + shard_dir.string()));
    }
    sqlite3_reset(write.get());
    ++copied;
  }
  if (rc != SQLITE_DONE) {
    throw Error(ErrorKind::store, from.describe_failure("cannot read its " + table));
  }
  return copied;
}

void remove_store_files(const fs::path& dir) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::path file = Store::file_in(dir);
    file += suffix;
    std::error_code ignored;
    fs::remove(file, ignored);
  }
}

}  // namespace

std::vector<fs::path> shard_directories(const std::vector<fs::path>& dirs) {
  std::vector<fs::path> found;
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    if (fs::exists(Store::file_in(dir), ec)) {
      found.push_back(dir);
      continue;
    }
    std::vector<fs::path> inside;
    if (fs::is_directory(dir, ec)) {
      for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_directory() && is_shard_folder(entry.path().filename().string()) &&
            fs::exists(Store::file_in(entry.path()), ec)) {
          inside.push_back(entry.path());
        }
      }
    }
    if (inside.empty()) {
      throw Error(ErrorKind::usage,
                  dir.string() + ": error: " +
                      (fs::is_directory(dir, ec)
                           ? "neither a run directory (no medsafe.db) nor a folder of shards' "
                             "run directories (shard-i-of-N)"
                           : "no such folder"));
    }
    std::sort(inside.begin(), inside.end());
    found.insert(found.end(), inside.begin(), inside.end());
  }
  return found;
}

MergeSummary merge_shards(const MergeOptions& options) {
  const std::vector<fs::path> dirs = shard_directories(options.dirs);
  const fs::path out = fs::weakly_canonical(fs::absolute(options.out));
  for (const fs::path& dir : dirs) {
    if (fs::weakly_canonical(fs::absolute(dir)) == out) {
      throw Error(ErrorKind::usage, dir.string() +
                                        ": error: is both a shard and the merge's output; merge "
                                        "into another folder");
    }
  }
  // Every shard locked before it is read: none may change (or be resumed) while it is merged.
  std::vector<std::unique_ptr<RunLock>> locks;
  for (const fs::path& dir : dirs) locks.push_back(std::make_unique<RunLock>(dir, options.command));

  std::vector<ShardStore> shards;
  for (const fs::path& dir : dirs) shards.push_back(read_shard(dir));
  for (std::size_t i = 1; i < shards.size(); ++i) {
    const std::vector<std::string> found = differences(shards[0], shards[i]);
    if (found.empty()) continue;
    throw Error(ErrorKind::config,
                shards[i].dir.string() + ": error: not a shard of the same run as " +
                    shards[0].dir.string() + ": " + join(found, "; ") +
                    ". The shards of one run come from one run file and configuration");
  }
  const int count = shards[0].plan.shard.count;
  std::map<int, std::size_t> by_index;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const auto [at, added] = by_index.emplace(shards[i].plan.shard.index, i);
    if (!added) {
      throw Error(ErrorKind::usage, "shard " + shards[i].plan.shard.text() +
                                        " is given twice: " + shards[at->second].dir.string() +
                                        " and " + shards[i].dir.string());
    }
  }
  MergeSummary summary;
  summary.shard_count = count;
  for (int i = 0; i < count; ++i) {
    if (by_index.contains(i)) {
      summary.merged.push_back(i);
    } else {
      summary.missing.push_back(i);
    }
  }
  if (!summary.missing.empty() && !options.allow_missing) {
    std::vector<std::string> folders;
    for (const int i : summary.missing) {
      folders.push_back(Shard{i, count, ""}.folder_name());
    }
    throw Error(ErrorKind::usage,
                "missing " + std::string(summary.missing.size() == 1 ? "shard " : "shards ") +
                    index_list(summary.missing) + " of " + std::to_string(count) + " (" +
                    join(folders, ", ") +
                    "); merge every shard, or pass --allow-missing to merge those there are (the "
                    "reports then say which are missing)");
  }
  std::vector<const ShardStore*> ordered;
  for (const auto& [index, position] : by_index) ordered.push_back(&shards[position]);
  for (const ShardStore* shard : ordered) summary.shard_dirs.push_back(shard->dir);

  if (fs::exists(Store::file_in(out))) {
    Store existing(out, Store::Mode::read_only);
    if (!existing.meta("merge")) {
      throw Error(ErrorKind::io, out.string() +
                                     ": error: holds the store of a run that no merge made; "
                                     "merge into another folder");
    }
  }
  // Built beside, then moved into place: `out` holds the old merge or the new one, never half.
  const fs::path building = out / (".merging-" + std::to_string(::getpid()));
  fs::remove_all(building);
  // A merge that fails half-way leaves nothing behind but OUT as it was.
  struct RemoveOnExit {
    fs::path folder;
    ~RemoveOnExit() {
      std::error_code ignored;
      fs::remove_all(folder, ignored);
    }
  } const cleanup{building};
  const ShardStore& first = *ordered.front();
  {
    Store fresh(building);
    fresh.set_meta("run_info", first.run_info_text);
    fresh.set_meta("run_file_text", first.run_file_text);
    fresh.set_meta("run_overrides", first.overrides);
    std::string started, updated;
    json sessions = json::array();
    std::int64_t offset = 0;
    for (const ShardStore* shard : ordered) {
      if (!shard->started_at.empty() && (started.empty() || shard->started_at < started)) {
        started = shard->started_at;
      }
      updated = std::max(updated, shard->updated_at);
      std::int64_t last = 0;
      for (json session : shard->sessions) {
        if (!session.is_object()) continue;
        const std::int64_t id = session.value("id", std::int64_t{0});
        last = std::max(last, id);
        session["id"] = id > 0 ? id + offset : 0;
        session["shard"] = shard->plan.shard.text();
        sessions.push_back(std::move(session));
      }
      offset += last;
    }
    fresh.set_meta("sessions", sessions.dump());
    if (!started.empty()) fresh.set_meta("started_at", started);
    if (!updated.empty()) fresh.set_meta("updated_at", updated);
    // Load phases are measured by shard 0 alone: its plan, or none when it is missing.
    fresh.set_meta("planned_load_points",
                   first.plan.shard.index == 0 ? first.planned_load_points : "[]");
    json from = json::array();
    for (const ShardStore* shard : ordered) from.push_back(fs::absolute(shard->dir).string());
    fresh.set_meta("merge", json{{"shards", count},
                                 {"merged", summary.merged},
                                 {"missing", summary.missing},
                                 {"from", from},
                                 {"merged_at", utc_now()}}
                                .dump());
  }
  {
    Database into(Store::file_in(building));
    Transaction tx(into);
    std::int64_t offset = 0;
    for (const ShardStore* shard : ordered) {
      Database from(Store::file_in(shard->dir), true);
      const bool zero = shard->plan.shard.index == 0;
      if (shard == ordered.front()) {
        // Every shard records the same components and categories (checked above).
        copy_rows(from, into, "components", "", {}, shard->dir);
        copy_rows(from, into, "categories", "", {}, shard->dir);
        // Every shard judged the same calibration sets (same run file); a shard store older
        // than the table has none.
        if (!columns_of(from, "calibrations").empty()) {
          copy_rows(from, into, "calibrations", "", {}, shard->dir);
        }
        if (!columns_of(from, "canaries").empty()) {
          copy_rows(from, into, "canaries", "", {}, shard->dir);
        }
        if (!columns_of(from, "error_rates").empty()) {
          copy_rows(from, into, "error_rates", "", {}, shard->dir);
        }
      }
      // Items keep their place in the whole suite (shards store it), so reports list them, and
      // bootstrap intervals resample them, in the order of a run on one machine.
      summary.items += copy_rows(from, into, "items", "", {}, shard->dir);
      const std::string session =
          "CASE WHEN session > 0 THEN session + " + std::to_string(offset) + " ELSE 0 END";
      summary.responses += copy_rows(from, into, "responses", zero ? "" : " WHERE phase = 'safety'",
                                     {{"session", session}}, shard->dir);
      summary.verdicts += copy_rows(from, into, "verdicts", "", {}, shard->dir);
      if (zero) summary.load_points += copy_rows(from, into, "load_points", "", {}, shard->dir);
      std::int64_t last = 0;
      for (const json& s : shard->sessions) {
        if (s.is_object()) last = std::max(last, s.value("id", std::int64_t{0}));
      }
      offset += last;
    }
    tx.commit();
  }
  remove_store_files(out);
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::path file = Store::file_in(building);
    file += suffix;
    if (!fs::exists(file, ec)) continue;
    fs::path into = Store::file_in(out);
    into += suffix;
    fs::rename(file, into, ec);
    if (ec) {
      throw Error(
          ErrorKind::io,
          out.string() + ": error: cannot move the merged store into place: " + ec.message());
    }
  }
  return summary;
}

}  // namespace medsafe
