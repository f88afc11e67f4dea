#include "engine/report_writer.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace medsafe
