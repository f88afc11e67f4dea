#pragma once
/// An RFC 4180 CSV reader over text held in memory.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace medsafe::tabular {

/// One CSV record and the 1-based line of the file where it starts.
struct CsvRecord {
  std::vector<std::string> fields;
  std::uint32_t line = 0;
};

/// Reads RFC 4180 records: fields are separated by `delimiter`; a field in double quotes may
/// hold delimiters, line breaks and doubled quotes (""); records end in LF, CRLF or CR. A leading
/// UTF-8 byte-order mark and blank lines are skipped. A quote inside an unquoted field is kept as
/// a literal character (as Python's csv module does).
class CsvReader {
 public:
  /// `text` must outlive the reader; `file` names it in error messages.
  CsvReader(std::string_view text, std::string file, char delimiter = ',');

  /// Reads the next record into `record`; false at the end of the text. Throws a data Error
  /// "file:line: error: ..." for an unterminated quoted field or text after a closing quote.
  bool next(CsvRecord& record);

  /// The file name given to the constructor.
  [[nodiscard]] const std::string& file() const noexcept { return file_; }

 private:
  void read_quoted(std::string& field);
  void read_unquoted(std::string& field);
  bool at_line_break() const noexcept;
  void skip_line_break() noexcept;

  std::string_view text_;
  std::string file_;
  char delimiter_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 1;
};

/// Reads every record of `text` (see CsvReader).
[[nodiscard]] std::vector<CsvRecord> read_csv(std::string_view text, const std::string& file,
                                              char delimiter = ',');

}  // namespace medsafe::tabular
