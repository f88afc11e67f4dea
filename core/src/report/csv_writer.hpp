#pragma once
/// RFC 4180 CSV text, built row by row.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace medsafe {

/// `field` as one RFC 4180 field: quoted, with quotes doubled, when it holds a comma, a quote,
/// CR or LF; as is otherwise.
[[nodiscard]] std::string csv_field(std::string_view field);

/// Builds CSV text: fields separated by commas, records ended by LF. Numbers are written with
/// a fixed number of decimals, so the same values always give the same bytes.
class CsvWriter {
 public:
  /// A writer whose real numbers get `decimals` digits after the point.
  explicit CsvWriter(int decimals = 4) : decimals_(decimals) {}
  /// Appends a text field.
  CsvWriter& text(std::string_view value);
  /// Appends an integer field.
  CsvWriter& integer(std::int64_t value);
  /// Appends a real field in fixed notation; an empty field when there is no value.
  CsvWriter& number(const std::optional<double>& value);
  /// Ends the current record.
  CsvWriter& end_row();
  /// The text so far.
  [[nodiscard]] const std::string& str() const noexcept { return out_; }

 private:
  void separate();
  std::string out_;
  int decimals_;
  bool row_started_ = false;
};

}  // namespace medsafe
