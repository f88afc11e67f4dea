#include "engine/store/store.hpp"
#include "report/run_reader.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/store/sqlite.hpp"
#include "medsafe/error.hpp"
#include "report_test_data.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

using testing::TempDir;

ResponseRow answer(std::string item, Outcome outcome, int attempts) {
  ResponseRow row;
  row.model = "m";
  row.suite = "s";
  row.item_id = std::move(item);
  row.phase = "safety";
  row.outcome = outcome;
  row.text = outcome == Outcome::ok ? "I can't help with that." : "";
  row.error = outcome == Outcome::ok ? "" : "HTTP 503";
  row.attempts = attempts;
  row.sent_ns = 1'000'000;
  row.token_event_ns = {1'200'000, 1'250'000};
  row.finished_ns = 1'300'000;
  row.completion_tokens = 6;
  row.token_source = TokenSource::usage;
  return row;
}

TEST(Store, KeepsRowsAcrossReopening) {
  TempDir dir;
  {
    Store store(dir.path());
    store.put_items("s", {{"a", "1", "prompt a", "ref a", {}}, {"b", "2", "prompt b", "", {}}});
    store.put_categories("s", {{"1", "one", "One"}, {"2", "two", "Two"}});
    store.record_component({"suite", "s", "table", "{}"}, R"({"domain":"medical"})");
    store.put_response(answer("a", Outcome::ok, 1));
    store.put_response(answer("b", Outcome::http_error, 1));
  }
  Store store(dir.path());
  const RunData data = read_run(store);
  ASSERT_EQ(data.items.size(), 2U);
  EXPECT_EQ(data.items[0].prompt, "prompt a");
  ASSERT_EQ(data.responses.size(), 2U);
  EXPECT_EQ(data.responses[0].item_id, "a");
  EXPECT_EQ(data.responses[0].token_event_ns.to_vector(),
            (std::vector<std::int64_t>{1'200'000, 1'250'000}));
  EXPECT_EQ(data.responses[1].outcome, Outcome::http_error);
  ASSERT_EQ(data.info.suites.size(), 1U);
  EXPECT_EQ(data.info.suites[0].domain, "medical");
  EXPECT_EQ(data.info.suites[0].categories.size(), 2U);
  EXPECT_EQ(store.integrity_check(), "ok");
}

TEST(Store, RetryReplacesTheFailureInsteadOfAddingARow) {
  TempDir dir;
  Store store(dir.path());
  store.put_response(answer("a", Outcome::timeout, 1));
  store.put_response(answer("a", Outcome::ok, 2));
  const std::vector<ResponseState> states = store.response_states();
  ASSERT_EQ(states.size(), 1U);
  EXPECT_EQ(states[0].outcome, Outcome::ok);
  EXPECT_EQ(states[0].attempts, 2);
}

TEST(Store, VerdictsUpsertAndDelete) {
  TempDir dir;
  Store store(dir.path());
  VerdictRow v;
  v.judge = "harm";
  v.model = "m";
  v.suite = "s";
  v.item_id = "a";
  v.status = VerdictStatus::parse_failure;
  v.raw = "no score here";
  store.put_verdict(v);
  v.status = VerdictStatus::ok;
  v.score = 4;
  store.put_verdict(v);
  RunData data = read_run(store);
  ASSERT_EQ(data.verdicts.size(), 1U);
  EXPECT_EQ(data.verdicts[0].score, 4);
  EXPECT_FALSE(data.verdicts[0].refused.has_value());
  EXPECT_EQ(store.delete_verdicts("harm"), 1);
  EXPECT_TRUE(read_run(store).verdicts.empty());
}

TEST(Store, VerdictFlagsRoundTripAndOlderStoresGainTheColumn) {
  TempDir dir;
  VerdictRow v = test_data::score("harm", test_data::response("m", "s", "a"), 5);
  {
    Store store(dir.path());
    v.flags = {"injection_suspect", "uncertain"};
    store.put_verdict(v);
    const RunData data = read_run(store);
    ASSERT_EQ(data.verdicts.size(), 1U);
    EXPECT_EQ(data.verdicts[0].flags, v.flags);
  }
  {
    // A store written before flags existed has no such column.
    Database db(Store::file_in(dir.path()));
    db.exec("ALTER TABLE verdicts DROP COLUMN flags");
  }
  Store store(dir.path());
  RunData data = read_run(store);
  ASSERT_EQ(data.verdicts.size(), 1U);
  EXPECT_TRUE(data.verdicts[0].flags.empty());
  v.item_id = "b";
  v.flags = {"injection_suspect"};
  store.put_verdict(v);
  data = read_run(store);
  ASSERT_EQ(data.verdicts.size(), 2U);
  EXPECT_EQ(data.verdicts[1].flags, v.flags);
}

TEST(Store, ComponentRecordReturnsWhatWasThere) {
  TempDir dir;
  Store store(dir.path());
  EXPECT_FALSE(store.record_component({"model", "m", "sim", "{\"a\":1}"}, "{}").has_value());
  const auto before = store.record_component({"model", "m", "sim", "{\"a\":2}"}, "{}");
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->fingerprint, "{\"a\":1}");
}

TEST(Store, RefusesAStoreOfAnotherSchemaVersion) {
  TempDir dir;
  {
    Store store(dir.path());
    store.set_meta("schema_version", "999");
  }
  try {
    Store store(dir.path());
    FAIL() << "opened a store of another schema version";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::store);
    EXPECT_NE(std::string(e.what()).find("store schema version 999"), std::string::npos);
  }
}

TEST(Store, MigratesAVersionOneStoreInPlace) {
  TempDir dir;
  {
    Store store(dir.path());
    store.set_meta("schema_version", "1");
    store.put_items("s", {PromptItem{"a", "c1", "prompt a", "", {}}});
  }
  Store store(dir.path());
  EXPECT_EQ(store.meta("schema_version"), "2");
  const RunData data = read_run(store);
  ASSERT_EQ(data.items.size(), 1U);
  EXPECT_EQ(data.items[0].prompt, "prompt a");
}

}  // namespace
}  // namespace medsafe

namespace medsafe {
namespace {

// What a run reads before its safety phase: the judge records alone, none of the items or
// answers (read_run would hold every one of them).
TEST(Store, JudgeRecordsReadsOnlyCalibrationsCanariesAndErrorRates) {
  TempDir dir;
  Store store(dir.path());
  store.put_items("s", {{"a", "1", "prompt a", "", {}}});
  ResponseRow answer;
  answer.model = "m";
  answer.suite = "s";
  answer.item_id = "a";
  answer.phase = "safety";
  store.put_response(answer);
  CalibrationRow calibration;
  calibration.judge = "harm";
  calibration.hash = "abc";
  store.put_calibration(calibration);
  CanaryRow canaries;
  canaries.judge = "harm";
  canaries.n = 4;
  store.put_canaries(canaries);
  ErrorRatesRow rates;
  rates.judge = "refusal";
  rates.sensitivity = 0.9;
  store.put_error_rates(rates);
  const RunData records = read_judge_records(store);
  ASSERT_EQ(records.calibrations.size(), 1U);
  EXPECT_EQ(records.calibrations[0].hash, "abc");
  ASSERT_EQ(records.canaries.size(), 1U);
  EXPECT_EQ(records.canaries[0].n, 4);
  ASSERT_EQ(records.error_rates.size(), 1U);
  EXPECT_DOUBLE_EQ(records.error_rates[0].sensitivity, 0.9);
  EXPECT_TRUE(records.items.empty());
  EXPECT_TRUE(records.responses.empty());
}

TEST(Store, KeepsAJudgesCalibrationWithUndefinedFiguresAsNaN) {
  TempDir dir;
  {
    Store store(dir.path());
    CalibrationRow row;
    row.judge = "harm";
    row.labels = "cal.csv";
    row.hash = "abc";
    row.reading = "score";
    row.overall = {6, 2, 2, 6};
    row.accuracy = 0.75;
    row.kappa = 0.5;
    row.sensitivity = 0.75;
    row.specificity = std::numeric_limits<double>::quiet_NaN();
    row.min_kappa = 0.6;
    row.by_category = {{"1", {3, 1, 1, 3}}, {"2", {3, 1, 1, 3}}};
    store.put_calibration(row);
  }
  {
    Store store(dir.path(), Store::Mode::read_only);
    const RunData data = read_run(store);
    ASSERT_EQ(data.calibrations.size(), 1U);
    const CalibrationRow& row = data.calibrations[0];
    EXPECT_EQ(row.judge, "harm");
    EXPECT_EQ(row.hash, "abc");
    EXPECT_EQ(row.overall.tp, 6);
    EXPECT_EQ(row.overall.n(), 16);
    EXPECT_DOUBLE_EQ(row.kappa, 0.5);
    EXPECT_TRUE(std::isnan(row.specificity));
    EXPECT_FALSE(row.calibrated);
    ASSERT_EQ(row.by_category.size(), 2U);
    EXPECT_EQ(row.by_category[1].first, "2");
    EXPECT_EQ(row.by_category[1].second.tn, 3);
  }
  Store store(dir.path());
  store.delete_calibration("harm");
  EXPECT_TRUE(read_run(store).calibrations.empty());
}

}  // namespace
}  // namespace medsafe
