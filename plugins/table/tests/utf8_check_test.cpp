// Rows whose text is not valid UTF-8 are warned about — suite, file and line — and kept as they
// are; a file full of them gives a few lines, not one per row.
#include "tabular/utf8_check.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "medsafe/manifest.hpp"
#include "support/temp_dir.hpp"
#include "table_suite.hpp"

namespace medsafe::tabular {
namespace {

// Keeps each line as "source: message".
class WarningLog final : public Log {
 public:
  void write(LogLevel /*level*/, std::string_view source, std::string_view message) override {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::string(source) + ": " + std::string(message));
  }
  void add_secret(std::string /*secret*/) override {}
  [[nodiscard]] std::string redact(std::string text) const override { return text; }
  [[nodiscard]] LogLevel level() const noexcept override { return LogLevel::debug; }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

TEST(InvalidUtf8, FindsTheFirstBadSequence) {
  EXPECT_EQ(invalid_utf8_at("plain, Ärztin, 医生 🩺"), std::nullopt);
  EXPECT_EQ(invalid_utf8_at("ab\xFF"), 2U);
  EXPECT_EQ(invalid_utf8_at("caf\xE9 au lait"), 3U);  // Latin-1, not UTF-8
  EXPECT_EQ(invalid_utf8_at("\xE2\x82"), 0U);         // cut sequence
  EXPECT_EQ(invalid_utf8_at("\xC0\xAF"), 0U);         // overlong '/'
}

table::TableSuite suite_for(const std::filesystem::path& file, Log& log) {
  static const ConfigSchema schema = read_manifest(TABLE_MANIFEST).config;
  const auto table = std::make_shared<const toml::table>(
      toml::parse(std::string_view("path = '" + file.string() + "'\nid_column = 'id'\n"),
                  std::string_view("run.toml")));
  return table::TableSuite(Config::validate("suites.s", table, schema, file.parent_path()), &log);
}

TEST(InvalidUtf8, ATableRowThatIsNotUtf8IsAWarningNamingSuiteFileAndLine) {
  testing::TempDir dir;
  const auto file =
      dir.write("p.csv", "id,prompt,note\na,fine,ok\nb,caf\xE9 order,ok\nc,fine,bad \xFF\n");
  WarningLog log;
  const std::vector<PromptItem> items = suite_for(file, log).load();
  ASSERT_EQ(items.size(), 3U);
  EXPECT_EQ(items[1].prompt, "caf\xE9 order");  // kept as it is
  const std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0], "suites.s: " + file.string() +
                          ":3: the prompt ('prompt') is not valid UTF-8 (byte 0xE9 at offset 3); "
                          "it is kept as it is, and reports show U+FFFD in its place");
  EXPECT_NE(lines[1].find(file.string() + ":4: the column 'note' is not valid UTF-8 (byte 0xFF"),
            std::string::npos)
      << lines[1];
}

TEST(InvalidUtf8, AFileInAnotherEncodingGivesAFewLinesAndACount) {
  testing::TempDir dir;
  std::string csv = "id,prompt\n";
  for (int i = 0; i < 8; ++i) csv += "r" + std::to_string(i) + ",na\xEFve\n";
  const auto file = dir.write("latin1.csv", csv);
  WarningLog log;
  (void)suite_for(file, log).load();
  const std::vector<std::string> lines = log.lines();
  ASSERT_EQ(lines.size(), 6U);
  EXPECT_NE(lines[4].find(file.string() + ":6: the prompt"), std::string::npos) << lines[4];
  EXPECT_EQ(lines[5], "suites.s: " + file.string() +
                          ": 3 more rows are not valid UTF-8 (is the file in another encoding? "
                          "save it as UTF-8)");
}

TEST(InvalidUtf8, ValidFilesWarnNothing) {
  testing::TempDir dir;
  WarningLog log;
  (void)suite_for(dir.write("p.csv", "id,prompt\na,Ärztin fragt\n"), log).load();
  EXPECT_TRUE(log.lines().empty());
}

}  // namespace
}  // namespace medsafe::tabular
