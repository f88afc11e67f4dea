// The SQLite layer of the store of its own: statements bind and read every type, a statement is
// reusable after run(), a transaction rolls back unless committed, a read-only connection
// changes no byte, and every failure is a store Error naming the database file.
#include "engine/store/sqlite.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "medsafe/error.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using testing::TempDir;

std::int64_t count_rows(Database& db) {
  Statement count(db, "SELECT COUNT(*) FROM t");
  EXPECT_TRUE(count.step());
  return count.integer(0);
}

std::string bytes_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::store) << e.what();
    return e.what();
  }
  return "no error";
}

TEST(Sqlite, StatementsBindAndReadTextIntegersRealsAndNull) {
  TempDir dir;
  Database db(dir.path() / "x.db");
  db.exec("CREATE TABLE t (s TEXT, i INTEGER, r REAL, n TEXT)");
  // Text with an embedded NUL and non-ASCII bytes keeps every byte; integers keep 64 bits.
  const std::string text("a\0b \xc3\xa9", 6);
  const std::int64_t big = std::numeric_limits<std::int64_t>::min() + 1;
  Statement insert(db, "INSERT INTO t VALUES (?1, ?2, ?3, ?4)");
  insert.bind(1, text).bind(2, big).bind(3, 0.125).bind(4, std::optional<std::string>{});
  insert.run();
  EXPECT_EQ(db.changes(), 1);

  Statement select(db, "SELECT s, i, r, n FROM t");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.text(0), text);
  EXPECT_EQ(select.integer(1), big);
  EXPECT_EQ(select.real(2), 0.125);
  EXPECT_TRUE(select.is_null(3));
  EXPECT_FALSE(select.is_null(0));
  EXPECT_EQ(select.text(3), "") << "NULL reads as an empty text";
  EXPECT_FALSE(select.step());
}

TEST(Sqlite, AStatementIsReusableAfterRunWithItsBindingsCleared) {
  TempDir dir;
  Database db(dir.path() / "x.db");
  db.exec("CREATE TABLE t (i INTEGER)");
  Statement insert(db, "INSERT INTO t VALUES (?1)");
  for (int i = 0; i < 3; ++i) insert.bind(1, i).run();
  insert.run();  // bindings were cleared: this row is NULL, not a repeat of 2
  Statement nulls(db, "SELECT COUNT(*) FROM t WHERE i IS NULL");
  ASSERT_TRUE(nulls.step());
  EXPECT_EQ(nulls.integer(0), 1);
  EXPECT_EQ(count_rows(db), 4);
}

TEST(Sqlite, ATransactionRollsBackUnlessCommittedAndWhenItsBodyThrows) {
  TempDir dir;
  Database db(dir.path() / "x.db");
  db.exec("CREATE TABLE t (i INTEGER)");
  {
    Transaction kept(db);
    db.exec("INSERT INTO t VALUES (1)");
    kept.commit();
  }
  {
    Transaction dropped(db);
    db.exec("INSERT INTO t VALUES (2)");
  }
  EXPECT_THROW(
      {
        Transaction thrown(db);
        db.exec("INSERT INTO t VALUES (3)");
        throw std::runtime_error("the body failed");
      },
      std::runtime_error);
  EXPECT_EQ(count_rows(db), 1);
  // A moved-from transaction does not roll back its successor's work.
  {
    Transaction first(db);
    Transaction second(std::move(first));
    db.exec("INSERT INTO t VALUES (4)");
    second.commit();
  }
  EXPECT_EQ(count_rows(db), 2);
}

// record_run holds one transaction around writes that open their own: those nest as
// savepoints, which the outer one commits or rolls back with everything else.
TEST(Sqlite, ATransactionInsideAnotherIsASavepointOfIt) {
  TempDir dir;
  Database db(dir.path() / "x.db");
  db.exec("CREATE TABLE t (i INTEGER)");
  {
    Transaction outer(db);
    {
      Transaction inner(db);
      db.exec("INSERT INTO t VALUES (1)");
      inner.commit();
    }
    {
      Transaction dropped(db);  // rolled back alone: the outer one goes on
      db.exec("INSERT INTO t VALUES (2)");
    }
    EXPECT_EQ(count_rows(db), 1);
    outer.commit();
  }
  EXPECT_EQ(count_rows(db), 1);
  {
    Transaction outer(db);
    Transaction inner(db);
    db.exec("INSERT INTO t VALUES (3)");
    inner.commit();
  }  // the outer one rolls back what the inner one committed
  EXPECT_EQ(count_rows(db), 1);
}

TEST(Sqlite, AReadOnlyConnectionChangesNoByteOfTheFileOrItsWal) {
  TempDir dir;
  const auto live = dir.path() / "live.db";
  const auto file = dir.path() / "x.db";
  {
    Database writer(live);
    writer.exec("PRAGMA journal_mode=WAL");
    writer.exec("CREATE TABLE t (i INTEGER)");
    writer.exec("INSERT INTO t VALUES (1)");
    // What a killed run leaves: the file and a WAL not yet folded into it (copied while the
    // writer is open, as closing it would checkpoint).
    std::filesystem::copy_file(live, file);
    std::filesystem::copy_file(dir.path() / "live.db-wal", dir.path() / "x.db-wal");
  }
  const std::string db_before = bytes_of(file);
  const std::string wal_before = bytes_of(dir.path() / "x.db-wal");
  ASSERT_FALSE(wal_before.empty());
  {
    // The only connection: a writable one closing last would fold the WAL in and delete it.
    Database reader(file, true);
    EXPECT_EQ(count_rows(reader), 1) << "the row in the WAL is read";
    EXPECT_NE(error_of([&] { reader.exec("INSERT INTO t VALUES (2)"); }), "no error");
  }
  ASSERT_TRUE(std::filesystem::exists(dir.path() / "x.db-wal"));
  EXPECT_EQ(bytes_of(file), db_before);
  EXPECT_EQ(bytes_of(dir.path() / "x.db-wal"), wal_before);
}

TEST(Sqlite, EveryFailureIsAStoreErrorNamingTheDatabaseFile) {
  TempDir dir;
  const auto file = dir.path() / "named.db";
  Database db(file);
  db.exec("CREATE TABLE t (i INTEGER PRIMARY KEY)");
  db.exec("INSERT INTO t VALUES (1)");

  const std::string bad_sql = error_of([&] { db.exec("SELEKT 1"); });
  EXPECT_NE(bad_sql.find(file.string()), std::string::npos) << bad_sql;

  const std::string bad_prepare = error_of([&] { Statement s(db, "SELECT nope FROM t"); });
  EXPECT_NE(bad_prepare.find(file.string()), std::string::npos) << bad_prepare;
  EXPECT_NE(bad_prepare.find("nope"), std::string::npos) << bad_prepare;

  Statement duplicate(db, "INSERT INTO t VALUES (1)");
  const std::string constraint = error_of([&] { duplicate.run(); });
  EXPECT_NE(constraint.find(file.string()), std::string::npos) << constraint;
  EXPECT_NE(constraint.find("UNIQUE"), std::string::npos) << constraint;

  const auto missing = dir.path() / "absent" / "none.db";
  const std::string open = error_of([&] { Database absent(missing, true); });
  EXPECT_NE(open.find(missing.string()), std::string::npos) << open;
}

}  // namespace
}  // namespace medsafe
