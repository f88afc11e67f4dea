#include "engine/store/sqlite.hpp"

#include <sqlite3.h>

#include "medsafe/error.hpp"

namespace medsafe {

Database::Database(const std::filesystem::path& file, bool read_only) : file_(file) {
  const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(file.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = describe_failure("cannot open the store");
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(ErrorKind::store, message);
  }
  sqlite3_busy_timeout(db_, 10'000);
  sqlite3_extended_result_codes(db_, 1);
  if (read_only) {
    // The last connection to close would otherwise fold the WAL into the file and delete it.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  }
}

Database::~Database() { sqlite3_close(db_); }

std::string Database::describe_failure(std::string_view what) const {
  return file_.string() + ": error: " + std::string(what) + ": " +
         (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory");
}

void Database::exec(std::string_view sql) {
  char* message = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string error = file_.string() + ": error: " + (message ? message : "SQL failed");
    sqlite3_free(message);
    throw Error(ErrorKind::store, error);
  }
}

std::int64_t Database::changes() const { return sqlite3_changes(db_); }

Statement::Statement(Database& db, std::string_view sql) : db_(&db) {
  if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK) {
    throw Error(ErrorKind::store, db.describe_failure("cannot prepare '" + std::string(sql) + "'"));
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t number) {
  sqlite3_bind_int64(stmt_, index, number);
  return *this;
}

Statement& Statement::bind(int index, double number) {
  sqlite3_bind_double(stmt_, index, number);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string message = db_->describe_failure("a store statement failed");
  sqlite3_reset(stmt_);
  throw Error(ErrorKind::store, message);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return data == nullptr
             ? std::string()
             : std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// Inside another transaction (record_run wraps a whole record in one, so that a refused run
// leaves the store as it was) a Transaction is a savepoint of it.
Transaction::Transaction(Database& db)
    : db_(&db), nested_(sqlite3_get_autocommit(db.handle()) == 0) {
  db_->exec(nested_ ? "SAVEPOINT medsafe_nested" : "BEGIN IMMEDIATE");
}

Transaction::Transaction(Transaction&& other) noexcept
    : db_(other.db_), done_(other.done_), nested_(other.nested_) {
  other.done_ = true;
}

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_->exec(nested_ ? "ROLLBACK TO medsafe_nested; RELEASE medsafe_nested" : "ROLLBACK");
    } catch (...) {  // a destructor must not throw; the store stays consistent either way
    }
  }
}

void Transaction::commit() {
  db_->exec(nested_ ? "RELEASE medsafe_nested" : "COMMIT");
  done_ = true;
}

}  // namespace medsafe
