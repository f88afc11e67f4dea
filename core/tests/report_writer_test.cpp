#include "engine/report_writer.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "engine/report_html.hpp"
#include "medsafe/error.hpp"
#include "report_test_data.hpp"

namespace medsafe {
namespace {

namespace fs = std::filesystem;

TEST(WriteReports, WritesEveryFileIntoANewFolder) {
  test_data::TempDir dir;
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
  test_data::TempDir dir;
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
  test_data::TempDir dir;
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

}  // namespace
}  // namespace medsafe
