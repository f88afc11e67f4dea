#include "reliability_support.hpp"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "sim_model.hpp"

namespace medsafe::reliability {
namespace {

/// A read-only connection to a run directory's store.
class ReadOnlyDb {
 public:
  explicit ReadOnlyDb(const fs::path& run_dir) {
    const fs::path file = run_dir / "medsafe.db";
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + file.string() + ": " + why);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~ReadOnlyDb() { sqlite3_close(db_); }
  ReadOnlyDb(const ReadOnlyDb&) = delete;
  ReadOnlyDb& operator=(const ReadOnlyDb&) = delete;

  std::vector<std::vector<std::string>> rows(std::string_view sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr) !=
        SQLITE_OK) {
      throw std::runtime_error(std::string("bad query: ") + sqlite3_errmsg(db_));
    }
    std::vector<std::vector<std::string>> out;
    int step = 0;
    while ((step = sqlite3_step(statement)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(statement); ++c) {
        const auto* text = sqlite3_column_text(statement, c);
        row.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(statement);
    if (step != SQLITE_DONE) throw std::runtime_error(std::string("query: ") + sqlite3_errmsg(db_));
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

std::string medsafe_binary() { return MEDSAFE_BINARY; }

std::vector<std::string> medsafe_argv(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {medsafe_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

ChildResult run_medsafe(const std::vector<std::string>& args, const Environment& env,
                        const fs::path& scratch, std::chrono::milliseconds timeout) {
  Child child(medsafe_argv(args), env, scratch);
  return child.wait(timeout);
}

std::unique_ptr<sim::SimServer> start_sim_server(std::string_view settings_toml,
                                                 std::string api_key) {
  sim::ServerOptions options;
  options.settings = sim::settings_from_toml(settings_toml, "test server settings");
  options.api_key = std::move(api_key);
  options.log_limit = 1'000'000;
  auto server = std::make_unique<sim::SimServer>(options);
  server->start();
  return server;
}

std::string run_file(const RunFileSpec& spec) {
  std::string text = "[run]\nname = \"reliability\"\nseed = 1\n\n";
  text += "[models.target]\nplugin = \"openai\"\n";
  text += "base_url = \"http://127.0.0.1:${" + std::string(kPortVariable) + "}/v1\"\n";
  text += "model = \"medsafe-sim\"\n";
  text += spec.model_keys + "\n\n";
  text +=
      "[suites.msb]\nplugin = \"medsafetybench\"\npath = " + toml_string(spec.data.string()) + "\n";
  if (spec.limit_per_category > 0) {
    text += "limit_per_category = " + std::to_string(spec.limit_per_category) + "\n";
  }
  if (!spec.safety) text += "safety = false\n";
  if (spec.judge) text += "\n[judges.refusal]\nplugin = \"refusal\"\n";
  text += "\n" + spec.extra;
  return text;
}

Environment run_environment(std::uint16_t port, Environment more) {
  // The plugins next to the binary under test, never a user's MEDSAFE_PLUGIN_PATH.
  more.emplace_back("MEDSAFE_PLUGIN_PATH", "");
  more.emplace_back(std::string(kPortVariable), std::to_string(port));
  return more;
}

std::vector<StoredResponse> stored_responses(const fs::path& run_dir) {
  std::vector<StoredResponse> out;
  for (const auto& row : query(run_dir,
                               "SELECT model, suite, item_id, sample, phase, outcome, attempts, "
                               "http_status FROM responses")) {
    StoredResponse r;
    // The X-Request-Id medsafe sends (engine/response_row.cpp, request_id()).
    r.request_id = row[0] + "/" + row[1] + "/" + row[2] + "#" + row[3];
    if (row[4] != "safety") r.request_id += "@" + row[4];
    r.item_id = row[2];
    r.phase = row[4];
    r.outcome = row[5];
    r.attempts = std::stoi(row[6]);
    r.http_status = std::stoi(row[7]);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::vector<std::string>> query(const fs::path& run_dir, std::string_view sql) {
  ReadOnlyDb db(run_dir);
  return db.rows(sql);
}

std::string integrity_check(const fs::path& run_dir) {
  std::string report;
  for (const auto& row : query(run_dir, "PRAGMA integrity_check")) {
    report += (report.empty() ? "" : "; ") + row.at(0);
  }
  return report;
}

std::map<std::string, std::vector<sim::LogEntry>> log_by_id(const std::vector<sim::LogEntry>& log) {
  std::map<std::string, std::vector<sim::LogEntry>> by_id;
  for (const sim::LogEntry& entry : log) by_id[entry.id].push_back(entry);
  return by_id;
}

bool wait_until_idle(const sim::SimServer& server, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (server.stats().in_flight != 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::vector<fs::path> files_containing(const fs::path& dir, std::string_view secret) {
  std::vector<fs::path> found;
  if (!fs::exists(dir)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    if (read_file(entry.path()).find(secret) != std::string::npos) found.push_back(entry.path());
  }
  return found;
}

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  const std::string text = read_file(file);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field += c;
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::map<std::string, std::string>> csv_records(const fs::path& file) {
  const auto rows = read_csv(file);
  std::vector<std::map<std::string, std::string>> records;
  if (rows.empty()) return records;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    std::map<std::string, std::string> record;
    for (std::size_t c = 0; c < rows[0].size() && c < rows[r].size(); ++c) {
      record[rows[0][c]] = rows[r][c];
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace medsafe::reliability
