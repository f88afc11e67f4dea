#pragma once
/// A thin RAII layer over the SQLite C API: one connection, prepared statements, errors as
/// medsafe::Error naming the database file.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace medsafe {

class Database;

/// A prepared statement; bind with 1-based indexes, step() until it returns false.
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t number);
  Statement& bind(int index, int number) { return bind(index, static_cast<std::int64_t>(number)); }
  Statement& bind(int index, double number);
  Statement& bind_null(int index);
  /// Binds a value or NULL.
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  /// Advances; true while a row is available.
  bool step();
  /// Runs a statement that returns no rows, then resets it for reuse.
  void run();
  void reset();

  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::int64_t integer(int column) const;
  [[nodiscard]] double real(int column) const;
  [[nodiscard]] bool is_null(int column) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// One SQLite connection. Not thread-safe: one thread uses it.
class Database {
 public:
  /// Opens (or creates) `file` for reading and writing.
  explicit Database(const std::filesystem::path& file) : Database(file, false) {}
  /// `read_only`: opens an existing file, writes nothing and never checkpoints its WAL, not
  /// even on close, so the file and its -wal keep their bytes.
  Database(const std::filesystem::path& file, bool read_only);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(std::string_view sql);
  [[nodiscard]] std::int64_t changes() const;
  [[nodiscard]] sqlite3* handle() const noexcept { return db_; }
  [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }
  /// A store Error: "<file>: error: <what>: <sqlite's message>".
  [[nodiscard]] std::string describe_failure(std::string_view what) const;

 private:
  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
};

/// Runs the body in a transaction; rolls back if it throws. Within another transaction it is a
/// savepoint of that one: committed with it, or rolled back alone.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  void commit();

 private:
  Database* db_;
  bool done_ = false;
  bool nested_ = false;  ///< a savepoint within an enclosing transaction
};

}  // namespace medsafe
