#include "report/report_writer.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/store/store.hpp"
#include "medsafe/error.hpp"
#include "report/report_html.hpp"
#include "report/run_reader.hpp"
#include "report_test_data.hpp"
#include "support/temp_dir.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;

TEST(WriteReports, WritesEveryFileIntoANewFolder) {
  testing::TempDir dir;
  const fs::path out = dir.path() / "reports";
  const auto files = write_reports(test_data::small_run(), out);
  const std::vector<fs::path> expected = {out / "summary.csv",  out / "latency.csv",
                                          out / "results.json", out / "report.md",
                                          out / "report.html",  out / "responses.jsonl"};
  EXPECT_EQ(files, expected);
  for (const auto& f : files) {
    EXPECT_TRUE(fs::is_regular_file(f)) << f;
    EXPECT_GT(fs::file_size(f), 0U) << f;
  }
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(out)) ++entries;
  EXPECT_EQ(entries, 6U);  // no temporary file left behind
}

TEST(WriteReports, FolderThatCannotBeCreatedIsAnIoError) {
  testing::TempDir dir;
  const fs::path blocker = dir.path() / "file";
  std::ofstream(blocker) << "x";
  try {
    (void)write_reports(test_data::small_run(), blocker / "reports");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("reports"), std::string::npos);
  }
}

TEST(WriteReports, TheHtmlBoundComesFromTheEnvironmentAndABadOneNamesTheVariable) {
  ::unsetenv("MEDSAFE_REPORT_HTML_MAX_BYTES");
  EXPECT_EQ(report_html_max_bytes_from_environment(), kReportHtmlMaxBytes);
  ::setenv("MEDSAFE_REPORT_HTML_MAX_BYTES", "50000", 1);
  EXPECT_EQ(report_html_max_bytes_from_environment(), 50'000U);
  for (const char* bad : {"12abc", "0", "-5", "ten"}) {
    ::setenv("MEDSAFE_REPORT_HTML_MAX_BYTES", bad, 1);
    try {
      (void)report_html_max_bytes_from_environment();
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::config) << bad;
      EXPECT_NE(std::string(e.what()).find("MEDSAFE_REPORT_HTML_MAX_BYTES"), std::string::npos);
    }
  }
  ::unsetenv("MEDSAFE_REPORT_HTML_MAX_BYTES");
}

// Side files belong to the page written with them: a later report that needs none (or fewer)
// leaves no stale folder behind.
TEST(WriteReports, SideFilesAreReplacedWithThePage) {
  testing::TempDir dir;
  RunData data = test_data::small_run();
  const ResponseRow first = data.responses.front();
  for (int i = 0; i < 300; ++i) {
    ResponseRow r = first;
    r.item_id = "extra" + std::to_string(i);
    r.text = std::string(2000, 'y');
    data.items.push_back(test_data::item(r.suite, r.item_id, "1"));
    data.responses.push_back(std::move(r));
  }
  const fs::path out = dir.path() / "reports";
  (void)write_reports(data, out, 100'000);
  EXPECT_LE(fs::file_size(out / "report.html"), 100'000U);
  ASSERT_TRUE(fs::is_regular_file(out / "report-answers" / "000000.js"));
  EXPECT_FALSE(fs::exists(out / "report-answers.new"));
  (void)write_reports(data, out, std::size_t{1} << 30);
  EXPECT_FALSE(fs::exists(out / "report-answers"));
  EXPECT_GT(fs::file_size(out / "report.html"), 300U * 2000U);
}

std::string file_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Reports from a store read with its texts deferred (run, report, judge, merge) are the bytes
// of reports from a RunData holding every text: responses.jsonl, report.html and the side
// files read each text from the store as they write it.
TEST(WriteReports, DeferredTextsWriteTheSameBytes) {
  testing::TempDir dir;
  Store store(dir.path() / "run");
  store.record_component({"model", "m", "sim", "{}"}, "{}");
  store.record_component({"suite", "s", "table", "{}"}, R"({"domain":"medical"})");
  store.record_component({"judge", "j", "refusal", "{}"}, R"({"refusal":true})");
  store.put_categories("s", {{"1", "one", "One"}, {"2", "two", "Two"}});
  std::vector<PromptItem> items;
  for (int i = 0; i < 400; ++i) {
    items.push_back(
        {"i" + std::to_string(i), i % 2 == 0 ? "1" : "2", "prompt " + std::to_string(i), "", {}});
  }
  store.put_items("s", items);
  for (int i = 0; i < 400; ++i) {
    ResponseRow r;
    r.model = "m";
    r.suite = "s";
    r.item_id = "i" + std::to_string(i);
    r.phase = "safety";
    r.text = "answer " + std::to_string(i) + " " + std::string(static_cast<std::size_t>(i), 'x') +
             (i % 7 == 0 ? " <b>&\"\n</b> \xc3\xa9" : "");
    r.sent_ns = 1'000'000;
    r.token_event_ns = {1'200'000, 1'250'000 + i};
    r.finished_ns = 1'300'000 + i;
    r.completion_tokens = 6;
    r.token_source = TokenSource::usage;
    store.put_response(r);
    VerdictRow v;
    v.judge = "j";
    v.model = "m";
    v.suite = "s";
    v.item_id = r.item_id;
    v.refused = i % 3 == 0;
    v.reason = "reason " + std::to_string(i);
    if (i % 5 == 0) v.raw = "raw <" + std::to_string(i) + ">";
    store.put_verdict(v);
  }
  const RunData deferred = read_run(store, ReadScope::current_items, Texts::deferred);
  ASSERT_TRUE(deferred.texts != nullptr);
  ASSERT_EQ(deferred.responses.size(), 400U);
  EXPECT_TRUE(deferred.responses[5].text.empty());
  EXPECT_EQ(response_text(deferred, deferred.responses[5]), "answer 5 xxxxx");
  // Prompts and the verdicts' texts stay in the store too, read for the rows written.
  ASSERT_EQ(deferred.items.size(), 400U);
  ASSERT_EQ(deferred.verdicts.size(), 400U);
  EXPECT_TRUE(deferred.items[5].prompt.empty());
  EXPECT_TRUE(deferred.verdicts[5].reason.empty());
  EXPECT_TRUE(deferred.verdicts[5].raw.empty());
  const fs::path held_out = dir.path() / "held";
  const fs::path deferred_out = dir.path() / "deferred";
  (void)write_reports(read_run(store), held_out, 60'000);
  (void)write_reports(deferred, deferred_out, 60'000);
  ASSERT_TRUE(fs::is_regular_file(held_out / "report-answers" / "000000.js"));
  EXPECT_NE(file_bytes(held_out / "responses.jsonl").find("answer 399 x"), std::string::npos);
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(held_out)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), held_out));
  }
  EXPECT_GE(files.size(), 7U);
  for (const fs::path& file : files) {
    EXPECT_EQ(file_bytes(held_out / file), file_bytes(deferred_out / file)) << file;
  }
}

// The batch read (responses.jsonl, the side files) gives each asked-for row its own text,
// whatever the order asked in, with repeats, over rows stored far apart (so the scan both steps
// and seeks), and a row that is not the RunData's keeps its own text.
TEST(WriteReports, DeferredTextsAreReadInBatchesInAnyOrder) {
  testing::TempDir dir;
  Store store(dir.path() / "run");
  store.record_component({"model", "m", "sim", "{}"}, "{}");
  store.record_component({"model", "n", "sim", "{}"}, "{}");
  store.record_component({"suite", "s", "table", "{}"}, "{}");
  std::vector<PromptItem> items;
  for (int i = 0; i < 300; ++i) items.push_back({"i" + std::to_string(i), "", "p", "", {}});
  store.put_items("s", items);
  // Stored from the last item to the first, model n's between model m's: RunData's order (by
  // model, then item) is not the store's.
  for (int i = 299; i >= 0; --i) {
    for (const char* model : {"m", "n"}) {
      ResponseRow r;
      r.model = model;
      r.suite = "s";
      r.item_id = "i" + std::to_string(i);
      r.phase = "safety";
      r.text = std::string(model) + " answer " + std::to_string(i);
      store.put_response(r);
    }
  }
  const RunData data = read_run(store, ReadScope::current_items, Texts::deferred);
  ASSERT_EQ(data.responses.size(), 600U);
  std::vector<const ResponseRow*> rows;
  for (std::size_t i = 0; i < data.responses.size(); i += 7) rows.push_back(&data.responses[i]);
  for (std::size_t i = data.responses.size(); i-- > 0;) rows.push_back(&data.responses[i]);
  rows.push_back(&data.responses[3]);
  ResponseRow outsider;
  outsider.text = "not stored";
  rows.push_back(&outsider);
  const std::vector<std::string> texts = response_texts(data, rows);
  ASSERT_EQ(texts.size(), rows.size());
  for (std::size_t i = 0; i + 1 < rows.size(); ++i) {
    const ResponseRow& r = *rows[i];
    EXPECT_EQ(texts[i], r.model + " answer " + r.item_id.substr(1)) << i;
    EXPECT_EQ(texts[i], response_text(data, r)) << i;
  }
  EXPECT_EQ(texts.back(), "not stored");
  EXPECT_TRUE(response_texts(data, {}).empty());
}

// Items' prompts and verdicts' reasons and raw outputs, deferred, are read back in batches the
// same way: each row its own, in any order, with repeats; a row not of the RunData keeps its own.
TEST(WriteReports, DeferredPromptsAndVerdictTextsAreReadInBatchesInAnyOrder) {
  testing::TempDir dir;
  Store store(dir.path() / "run");
  store.record_component({"model", "m", "sim", "{}"}, "{}");
  store.record_component({"suite", "s", "table", "{}"}, "{}");
  store.record_component({"judge", "j", "refusal", "{}"}, R"({"refusal":true})");
  std::vector<PromptItem> items;
  for (int i = 0; i < 300; ++i) {
    items.push_back({"i" + std::to_string(i), "", "prompt " + std::to_string(i), "", {}});
  }
  store.put_items("s", items);
  // Stored from the last item to the first: RunData's order is not the store's.
  for (int i = 299; i >= 0; --i) {
    VerdictRow v;
    v.judge = "j";
    v.model = "m";
    v.suite = "s";
    v.item_id = "i" + std::to_string(i);
    v.refused = true;
    v.reason = "reason " + std::to_string(i);
    v.raw = "raw " + std::to_string(i);
    store.put_verdict(v);
  }
  const RunData held = read_run(store);
  const RunData data = read_run(store, ReadScope::current_items, Texts::deferred);
  ASSERT_EQ(data.items.size(), 300U);
  ASSERT_EQ(data.verdicts.size(), 300U);
  std::vector<const ItemRow*> item_rows;
  std::vector<const VerdictRow*> verdict_rows;
  for (std::size_t i = 0; i < 300; i += 7) {
    item_rows.push_back(&data.items[i]);
    verdict_rows.push_back(&data.verdicts[i]);
  }
  for (std::size_t i = 300; i-- > 0;) {
    item_rows.push_back(&data.items[i]);
    verdict_rows.push_back(&data.verdicts[i]);
  }
  item_rows.push_back(&data.items[3]);
  ItemRow outsider_item;
  outsider_item.prompt = "not stored";
  item_rows.push_back(&outsider_item);
  VerdictRow outsider_verdict;
  outsider_verdict.reason = "own reason";
  outsider_verdict.raw = "own raw";
  verdict_rows.push_back(&outsider_verdict);

  const std::vector<std::string> prompts = item_prompts(data, item_rows);
  ASSERT_EQ(prompts.size(), item_rows.size());
  for (std::size_t i = 0; i + 1 < item_rows.size(); ++i) {
    const auto at = static_cast<std::size_t>(item_rows[i] - data.items.data());
    EXPECT_EQ(prompts[i], "prompt " + item_rows[i]->item_id.substr(1)) << i;
    EXPECT_EQ(prompts[i], held.items[at].prompt) << i;
  }
  EXPECT_EQ(prompts.back(), "not stored");

  const std::vector<VerdictTexts> said = verdict_texts(data, verdict_rows);
  ASSERT_EQ(said.size(), verdict_rows.size());
  for (std::size_t i = 0; i + 1 < verdict_rows.size(); ++i) {
    const std::string n = verdict_rows[i]->item_id.substr(1);
    EXPECT_EQ(said[i].reason, "reason " + n) << i;
    EXPECT_EQ(said[i].raw, "raw " + n) << i;
  }
  EXPECT_EQ(said.back().reason, "own reason");
  EXPECT_EQ(said.back().raw, "own raw");
  EXPECT_TRUE(item_prompts(data, {}).empty());
  EXPECT_TRUE(verdict_texts(data, {}).empty());
}

}  // namespace
}  // namespace medsafe
