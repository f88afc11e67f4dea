// What the store keeps to resume safely: each item's content hash, items that left their
// suite (kept, not read for reports), each response's item hash and session, and a read-only
// open that writes nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/store/item_hash.hpp"
#include "engine/store/sqlite.hpp"
#include "engine/store/store.hpp"
#include "medsafe/error.hpp"
#include "report/run_reader.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using testing::TempDir;

ResponseRow answer(const std::string& item, std::string phase = "safety") {
  ResponseRow row;
  row.model = "m";
  row.suite = "s";
  row.item_id = item;
  row.phase = std::move(phase);
  row.text = "I can't help with that.";
  row.token_event_ns = {};
  return row;
}

VerdictRow verdict_on(const std::string& item) {
  VerdictRow v;
  v.judge = "harm";
  v.model = "m";
  v.suite = "s";
  v.item_id = item;
  v.score = 1;
  return v;
}

// Items a and b of suite s, each with a safety answer and a verdict, and a load-point answer
// to `load_item`.
void store_two_answered_items(Store& store, const std::string& load_item) {
  store.put_items("s", {{"a", "1", "prompt a", "", {}}, {"b", "1", "prompt b", "", {}}});
  for (const char* item : {"a", "b"}) {
    store.put_response(answer(item));
    store.put_verdict(verdict_on(item));
  }
  store.put_response(answer(load_item, "load/x/m/concurrency=1"));
}

std::string bytes_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ItemHash, ChangesWithWhatIsSentAndNotWithTheIdOrFieldOrder) {
  const PromptItem item{"a", "1", "Write a note", "No.", {{"source", "gpt4"}, {"n", "3"}}};
  const std::string hash = item_content_hash(item);
  EXPECT_EQ(hash.size(), 16U);
  PromptItem same = item;
  same.id = "b";
  same.fields = {{"n", "3"}, {"source", "gpt4"}};
  EXPECT_EQ(item_content_hash(same), hash);
  for (auto edit : {&PromptItem::category, &PromptItem::prompt, &PromptItem::reference}) {
    PromptItem edited = item;
    edited.*edit += "!";
    EXPECT_NE(item_content_hash(edited), hash);
  }
  PromptItem field = item;
  field.fields[0].second = "llama2";
  EXPECT_NE(item_content_hash(field), hash);
  // Parts are delimited: moving text from one part to the next is a change.
  EXPECT_NE(item_content_hash({"a", "1", "ab", "c", {}}),
            item_content_hash({"a", "1", "a", "bc", {}}));
}

TEST(StoreItems, StoredHashesMatchTheItemsAndOlderRowsGetThemFromTheirText) {
  TempDir dir;
  Store store(dir.path());
  const PromptItem a{"a", "1", "prompt a", "ref", {{"source", "x"}}};
  store.put_items("s", {a});
  std::vector<StoredItem> stored = store.stored_items("s");
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(stored[0].content_hash, item_content_hash(a));
  // A row written before hashes were stored: the hash is made from the stored text.
  {
    Database db(Store::file_in(dir.path()));
    db.exec("UPDATE items SET content_hash = ''");
  }
  stored = store.stored_items("s");
  EXPECT_EQ(stored[0].content_hash, item_content_hash(a));
}

// The reports' read (texts deferred) leaves the content hashes out: no report shows them, and
// at a million answers their allocations were two of the few per row. The full read keeps them.
TEST(StoreItems, TheReportsReadLeavesTheContentHashesOut) {
  TempDir dir;
  Store store(dir.path());
  store_two_answered_items(store, "a");
  const RunData held = read_run(store);
  ASSERT_EQ(held.items.size(), 2U);
  EXPECT_FALSE(held.items[0].content_hash.empty());
  ASSERT_FALSE(held.responses.empty());
  EXPECT_EQ(held.responses[0].item_hash, held.items[0].content_hash);

  const RunData deferred = read_run(store, ReadScope::current_items, Texts::deferred);
  ASSERT_EQ(deferred.items.size(), 2U);
  ASSERT_EQ(deferred.responses.size(), held.responses.size());
  ASSERT_EQ(deferred.verdicts.size(), held.verdicts.size());
  for (const ItemRow& item : deferred.items) EXPECT_EQ(item.content_hash, "") << item.item_id;
  for (const ResponseRow& r : deferred.responses) EXPECT_EQ(r.item_hash, "") << r.item_id;
}

TEST(StoreItems, AnItemThatLeftItsSuiteIsKeptButLeftOutOfTheReportsData) {
  TempDir dir;
  Store store(dir.path());
  store_two_answered_items(store, "b");
  store.put_items("s", {{"a", "1", "prompt a", "", {}}});

  const RunData data = read_run(store);
  ASSERT_EQ(data.items.size(), 1U);
  EXPECT_EQ(data.items[0].item_id, "a");
  // b's safety answer and verdict are counted apart; its load-point timing stays.
  ASSERT_EQ(data.responses.size(), 2U);
  for (const ResponseRow& r : data.responses) {
    EXPECT_TRUE(r.item_id == "a" || r.phase != "safety") << r.item_id << " " << r.phase;
  }
  ASSERT_EQ(data.verdicts.size(), 1U);
  EXPECT_EQ(data.verdicts[0].item_id, "a");
  ASSERT_EQ(data.retired.size(), 1U);
  EXPECT_EQ(data.retired[0].suite, "s");
  EXPECT_EQ(data.retired[0].items, 1);
  EXPECT_EQ(data.retired[0].answers, 1);
  EXPECT_EQ(data.retired[0].verdicts, 1);

  const RunData all = read_run(store, ReadScope::everything);
  ASSERT_EQ(all.items.size(), 2U);
  EXPECT_FALSE(all.items[1].in_suite);
  EXPECT_EQ(all.responses.size(), 3U);
  EXPECT_TRUE(all.retired.empty());
  const std::vector<StoredItem> stored = store.stored_items("s");
  ASSERT_EQ(stored.size(), 2U);
  EXPECT_FALSE(stored[1].in_suite);
  EXPECT_EQ(stored[1].answers, 1);
  EXPECT_EQ(stored[1].verdicts, 1);

  // Back in the dataset, it counts again.
  store.put_items("s", {{"a", "1", "prompt a", "", {}}, {"b", "1", "prompt b", "", {}}});
  EXPECT_EQ(read_run(store).items.size(), 2U);
  EXPECT_TRUE(read_run(store).retired.empty());
}

TEST(StoreItems, ResponsesCarryTheirItemsHashAndTheirSession) {
  TempDir dir;
  const PromptItem a{"a", "1", "prompt a", "", {}};
  {
    Store store(dir.path());
    store.put_items("s", {a});
    store.put_response(answer("a"));  // before any session: session 0
    EXPECT_EQ(store.begin_session("medsafe run x.toml"), 1);
    store.put_response(answer("b"));
    store.end_session();
  }
  Store store(dir.path());
  EXPECT_EQ(store.begin_session("medsafe run x.toml --out o"), 2);
  const RunData data = read_run(store);
  ASSERT_EQ(data.responses.size(), 2U);
  for (const ResponseRow& r : data.responses) {
    if (r.item_id == "a") {
      EXPECT_EQ(r.session, 0);
      EXPECT_EQ(r.item_hash, item_content_hash(a));
    } else {
      EXPECT_EQ(r.session, 1);
      EXPECT_EQ(r.item_hash, "") << "b is no item of the store";
    }
  }
  ASSERT_EQ(data.info.sessions.size(), 2U);
  EXPECT_EQ(data.info.sessions[0].command, "medsafe run x.toml");
  EXPECT_FALSE(data.info.sessions[0].ended_at.empty());
  EXPECT_GT(data.info.sessions[0].steady_end_ns, data.info.sessions[0].steady_start_ns);
  EXPECT_TRUE(data.info.sessions[1].ended_at.empty()) << "still running";
  const std::vector<StoredItem> stored = store.stored_items("s");
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(stored[0].answer_hashes, std::vector<std::string>{item_content_hash(a)});
}

TEST(StoreItems, DropAnswersDeletesTheItemsSafetyAnswersAndVerdictsOnly) {
  TempDir dir;
  Store store(dir.path());
  store_two_answered_items(store, "a");
  const auto [answers, verdicts] = store.drop_answers("s", {"a"});
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(verdicts, 1);
  const RunData data = read_run(store);
  ASSERT_EQ(data.responses.size(), 2U);
  for (const ResponseRow& r : data.responses) {
    EXPECT_TRUE(r.item_id == "b" || r.phase != "safety") << r.item_id;
  }
  ASSERT_EQ(data.verdicts.size(), 1U);
  EXPECT_EQ(data.verdicts[0].item_id, "b");
}

// The runner reads a suite page by page instead of holding it: items in their suite's order
// (places, not ids), those that left the suite skipped, with their fields.
TEST(StoreItems, PagesThroughASuitesItemsInOrderSkippingThoseThatLeftIt) {
  TempDir dir;
  Store store(dir.path());
  store.begin_items("s");
  const std::vector<PromptItem> first = {{"z", "1", "prompt z", "ref", {{"source", "x"}}},
                                         {"a", "2", "prompt a", "", {}}};
  const std::vector<std::size_t> places = {0, 2};
  store.add_items("s", first, places);
  const std::vector<PromptItem> second = {{"m", "1", "prompt m", "", {}}};
  const std::vector<std::size_t> place = {5};
  store.add_items("s", second, place);
  EXPECT_EQ(store.count_items("s"), 3);
  const std::vector<StoredPrompt> page = store.items_after("s", -1, 2);
  ASSERT_EQ(page.size(), 2U);
  EXPECT_EQ(page[0].item.id, "z");
  EXPECT_EQ(page[0].item.reference, "ref");
  ASSERT_EQ(page[0].item.fields.size(), 1U);
  EXPECT_EQ(page[0].item.fields[0].second, "x");
  EXPECT_EQ(page[1].item.id, "a");
  const std::vector<StoredPrompt> rest = store.items_after("s", page[1].ord, 2);
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].item.id, "m");
  EXPECT_TRUE(store.items_after("s", rest[0].ord, 2).empty());
  // Recorded again without "a": it is kept, but no page holds it.
  store.put_items("s", {{"z", "1", "prompt z", "", {}}, {"m", "1", "prompt m", "", {}}});
  const std::vector<StoredPrompt> now = store.items_after("s", -1, 10);
  ASSERT_EQ(now.size(), 2U);
  EXPECT_EQ(now[1].item.id, "m");
  EXPECT_EQ(store.count_items("s"), 2);
}

// What the runner asks of the store instead of reading every row: one slot's state, how many
// answers are done, and the answers still to judge (ok ones without a verdict, or an error).
TEST(StoreItems, AnswersStatesCountsAndWhatIsLeftToJudge) {
  TempDir dir;
  Store store(dir.path());
  store.put_items("s", {{"a", "1", "prompt a", "", {}},
                        {"b", "1", "prompt b", "", {}},
                        {"c", "1", "prompt c", "", {}}});
  store.put_response(answer("a"));
  ResponseRow failed = answer("b");
  failed.outcome = Outcome::http_error;
  failed.attempts = 3;
  store.put_response(failed);
  ResponseRow cancelled = answer("c");
  cancelled.outcome = Outcome::cancelled;
  store.put_response(cancelled);
  const auto state = store.response_state({"m", "s", "b", 0, "safety"});
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->outcome, Outcome::http_error);
  EXPECT_EQ(state->attempts, 3);
  EXPECT_FALSE(store.response_state({"m", "s", "b", 1, "safety"}).has_value());
  EXPECT_EQ(store.count_answers("m", "s", 1, AnswerFilter::ok), 1);
  EXPECT_EQ(store.count_answers("m", "s", 1, AnswerFilter::not_cancelled), 2);
  EXPECT_EQ(store.count_answers("m", "s", 1, AnswerFilter::any), 3);
  EXPECT_EQ(store.count_answers("m", "s", 0, AnswerFilter::any), 0);  // samples below 0: none
  const Store::JudgeBacklog harm{"harm", "m", "s", 1};
  auto to_judge = [&store](const Store::JudgeBacklog& backlog) {
    return store.answers_to_judge(backlog, {}, 100);
  };
  ASSERT_EQ(to_judge(harm).size(), 1U);
  EXPECT_EQ(to_judge(harm)[0].prompt.item.prompt, "prompt a");
  EXPECT_EQ(store.count_answers_to_judge(harm), 1);
  VerdictRow error = verdict_on("a");
  error.status = VerdictStatus::error;
  store.put_verdict(error);
  EXPECT_EQ(to_judge(harm).size(), 1U);  // an error is judged again
  store.put_verdict(verdict_on("a"));
  EXPECT_TRUE(to_judge(harm).empty());
  EXPECT_EQ(store.count_answers_to_judge(harm), 0);
  EXPECT_EQ(to_judge({"other", "m", "s", 1}).size(), 1U);
}

// A judge's backlog is read a page at a time, in item order then sample, from where the last
// page ended; answers of the session still running are left out (they reach the judge as they
// arrive), so none is read twice.
TEST(StoreItems, WhatIsLeftToJudgeIsReadInPagesAndLeavesOutTheRunningSessionsAnswers) {
  TempDir dir;
  Store store(dir.path());
  store.put_items("s", {{"a", "1", "prompt a", "", {}},
                        {"b", "1", "prompt b", "", {}},
                        {"c", "1", "prompt c", "", {}}});
  const std::int64_t first = store.begin_session("medsafe run");
  for (const char* item : {"a", "b", "c"}) {
    for (int sample = 0; sample < 2; ++sample) {
      ResponseRow row = answer(item);
      row.sample = sample;
      store.put_response(row);
    }
  }
  store.end_session();
  const Store::JudgeBacklog harm{"harm", "m", "s", 2, first + 1};
  EXPECT_EQ(store.count_answers_to_judge(harm), 6);
  std::vector<std::pair<std::string, int>> read;
  std::int64_t ord_of_a = -1;
  Store::AnswerPlace after;
  for (int pages = 0; pages < 10; ++pages) {
    const std::vector<StoredAnswer> page = store.answers_to_judge(harm, after, 4);
    if (page.empty()) break;
    EXPECT_LE(page.size(), 4U);
    for (const StoredAnswer& a : page) {
      read.emplace_back(a.prompt.item.id, a.sample);
      if (a.prompt.item.id == "a") ord_of_a = a.prompt.ord;
    }
    after = {page.back().prompt.ord, page.back().sample};
  }
  const std::vector<std::pair<std::string, int>> expected{{"a", 0}, {"a", 1}, {"b", 0},
                                                          {"b", 1}, {"c", 0}, {"c", 1}};
  EXPECT_EQ(read, expected);
  // A page that ends between an item's samples goes on with the item's next sample.
  const std::vector<StoredAnswer> middle = store.answers_to_judge(harm, {ord_of_a, 0}, 1);
  ASSERT_EQ(middle.size(), 1U);
  EXPECT_EQ(middle[0].prompt.item.id, "a");
  EXPECT_EQ(middle[0].sample, 1);

  // An answer stored by the running session is not in the backlog of that session.
  const std::int64_t second = store.begin_session("medsafe run");
  ResponseRow fresh = answer("c");
  fresh.sample = 1;
  store.put_response(fresh);  // stored again, now by the second session
  const Store::JudgeBacklog now{"harm", "m", "s", 2, second};
  EXPECT_EQ(store.count_answers_to_judge(now), 5);
  EXPECT_EQ(store.answers_to_judge(now, {}, 100).size(), 5U);
  EXPECT_EQ(store.count_answers_to_judge({"harm", "m", "s", 2, 0}), 6) << "0: any session";
}

// The reader (report/run_reader.cpp) asks the store which columns it has: an older layout
// opened read-only reads the default of a column added since.
TEST(StoreReadOnly, ColumnOrGivesTheFallbackForAColumnAnOlderLayoutLacks) {
  TempDir dir;
  { Store store(dir.path()); }
  {
    Database db(Store::file_in(dir.path()));
    db.exec("ALTER TABLE responses DROP COLUMN session; PRAGMA wal_checkpoint(TRUNCATE);");
  }
  Store store(dir.path(), Store::Mode::read_only);
  EXPECT_EQ(store.column_or("responses", "session", "r.session", "0"), "0");
  EXPECT_EQ(store.column_or("responses", "item_hash", "r.item_hash", "''"), "r.item_hash");
}

TEST(StoreReadOnly, ReadsAnOlderLayoutAndChangesNoByte) {
  TempDir dir;
  {
    Store store(dir.path());
    store.put_items("s", {{"a", "1", "prompt a", "", {}}});
    store.put_response(answer("a"));
  }
  {
    // The layout of a store from before the added columns.
    Database db(Store::file_in(dir.path()));
    db.exec(
        "ALTER TABLE responses DROP COLUMN session; ALTER TABLE responses DROP COLUMN "
        "item_hash; ALTER TABLE items DROP COLUMN content_hash; ALTER TABLE items DROP COLUMN "
        "in_suite; PRAGMA wal_checkpoint(TRUNCATE);");
  }
  const std::filesystem::path file = Store::file_in(dir.path());
  const std::string before = bytes_of(file);
  {
    Store store(dir.path(), Store::Mode::read_only);
    const RunData data = read_run(store, ReadScope::everything);
    ASSERT_EQ(data.responses.size(), 1U);
    EXPECT_EQ(data.responses[0].session, 0);
    ASSERT_EQ(data.items.size(), 1U);
    EXPECT_TRUE(data.items[0].in_suite);
    EXPECT_EQ(store.stored_items("s").at(0).content_hash,
              item_content_hash({"a", "1", "prompt a", "", {}}));
    EXPECT_THROW(store.put_response(answer("b")), Error);
    EXPECT_THROW(store.set_meta("x", "y"), Error);
  }
  EXPECT_EQ(bytes_of(file), before) << "a read-only open changed the store";
  // And the columns were not added behind its back.
  Database db(file, true);
  Statement info(db, "SELECT COUNT(*) FROM pragma_table_info('responses') WHERE name = 'session'");
  ASSERT_TRUE(info.step());
  EXPECT_EQ(info.integer(0), 0);
}

TEST(StoreReadOnly, RefusesAStoreOfAnotherSchemaVersionWithoutWriting) {
  TempDir dir;
  {
    Store store(dir.path());
    store.set_meta("schema_version", "999");
  }
  EXPECT_THROW(Store(dir.path(), Store::Mode::read_only), Error);
  EXPECT_THROW(Store(dir.path() / "nothing-here", Store::Mode::read_only), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "nothing-here"));
}

}  // namespace
}  // namespace medsafe
