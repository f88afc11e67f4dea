#include "report/csv_writer.hpp"

#include "report/report_io.hpp"

namespace medsafe {

std::string csv_field(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (const char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void CsvWriter::separate() {
  if (row_started_) out_.push_back(',');
  row_started_ = true;
}

CsvWriter& CsvWriter::text(std::string_view value) {
  separate();
  out_ += csv_field(value);
  return *this;
}

CsvWriter& CsvWriter::integer(std::int64_t value) {
  separate();
  out_ += std::to_string(value);
  return *this;
}

CsvWriter& CsvWriter::number(const std::optional<double>& value) {
  separate();
  out_ += format_fixed(value, decimals_);
  return *this;
}

CsvWriter& CsvWriter::end_row() {
  out_.push_back('\n');
  row_started_ = false;
  return *this;
}

}  // namespace medsafe
