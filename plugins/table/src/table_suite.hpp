#pragma once
/// The `table` suite: prompts from any CSV, JSON-lines or plain-lines file.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "medsafe/config.hpp"
#include "medsafe/log.hpp"
#include "medsafe/suite.hpp"

namespace medsafe::table {

/// How the file is laid out.
enum class Format : std::uint8_t { csv, jsonl, lines };

/// A suite read from one file. The constructor checks the configuration (config Errors at the
/// key); load() reads the file (data Errors "file:line: error: ..."; a column the file lacks is
/// a config Error at the key that names it, listing the columns the file has).
class TableSuite final : public Suite {
 public:
  /// `config` has been validated against the table manifest; `log` (may be null) gets the
  /// warnings of load(), such as rows that are not valid UTF-8.
  explicit TableSuite(Config config, Log* log = nullptr);

  /// Every row (or the `limit` sampled rows) in file order. Ids are the id column's values, or
  /// the 1-based number of the row among the file's data rows.
  std::vector<PromptItem> load() override;
  /// The `categories` of the configuration; without them, the categories of the loaded items in
  /// order of first appearance (named by their ids).
  [[nodiscard]] std::vector<Category> categories() const override;
  [[nodiscard]] std::string domain() const override;

  /// The format the file is read as (after "auto" was resolved from the extension).
  [[nodiscard]] Format format() const noexcept { return format_; }

 private:
  struct Row {
    PromptItem item;
    std::uint32_t line = 0;
  };

  [[nodiscard]] std::vector<Row> read_csv_rows(const std::string& text) const;
  [[nodiscard]] std::vector<Row> read_jsonl_rows(const std::string& text) const;
  [[nodiscard]] std::vector<Row> read_lines_rows(const std::string& text) const;
  void check_rows(const std::vector<Row>& rows) const;
  void read_expectations(std::vector<Row>& rows) const;
  void read_declared_categories();

  Config config_;
  Log* log_ = nullptr;
  std::filesystem::path path_;
  Format format_ = Format::csv;
  char delimiter_ = ',';
  std::string prompt_column_;
  std::string id_column_;
  std::string category_column_;
  std::string reference_column_;
  std::string expect_column_;
  std::string domain_;
  std::size_t limit_ = 0;
  std::uint64_t seed_ = 0;
  std::vector<Category> declared_;
  std::vector<Category> seen_;
};

}  // namespace medsafe::table
