#include "tabular/csv_reader.hpp"

#include <string>
#include <utility>

#include "medsafe/error.hpp"

namespace medsafe::tabular {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// Line breaks in `text` counting CRLF once, so that quoted multi-line fields keep the line
// numbers of later records right.
std::uint32_t count_line_breaks(std::string_view text) noexcept {
  std::uint32_t breaks = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++breaks;
    } else if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) {
      ++breaks;
    }
  }
  return breaks;
}

std::string describe(char c) {
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a control character";
  return std::string("'") + c + "'";
}

}  // namespace

CsvReader::CsvReader(std::string_view text, std::string file, char delimiter)
    : text_(text), file_(std::move(file)), delimiter_(delimiter) {
  if (text_.starts_with(kByteOrderMark)) pos_ = kByteOrderMark.size();
}

bool CsvReader::at_line_break() const noexcept {
  return pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r');
}

void CsvReader::skip_line_break() noexcept {
  if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
  ++pos_;
  ++line_;
}

void CsvReader::read_quoted(std::string& field) {
  const std::uint32_t opened = line_;
  ++pos_;  // the opening quote
  for (;;) {
    const std::size_t quote = text_.find('"', pos_);
    if (quote == std::string_view::npos) {
      throw located_error(ErrorKind::data, SourceLocation{file_, opened, 0},
                          "unterminated quoted field: the quote opened on this line is never "
                          "closed");
    }
    const std::string_view chunk = text_.substr(pos_, quote - pos_);
    field.append(chunk);
    line_ += count_line_breaks(chunk);
    pos_ = quote + 1;
    if (pos_ < text_.size() && text_[pos_] == '"') {  // "" stands for one quote
      field += '"';
      ++pos_;
      continue;
    }
    break;
  }
  if (pos_ < text_.size() && text_[pos_] != delimiter_ && !at_line_break()) {
    if (line_ != opened) {
      // A quote left open takes in the next lines up to the next quote, which then seems to be
      // followed by junk: the line to fix is the one where the quote opened.
      throw located_error(ErrorKind::data, SourceLocation{file_, opened, 0},
                          "the quoted field opened on this line is closed only on line " +
                              std::to_string(line_) + ", where " + describe(text_[pos_]) +
                              " follows the quote: is a closing quote missing here? (a quote "
                              "inside a quoted field must be doubled: \"\")");
    }
    throw located_error(ErrorKind::data, SourceLocation{file_, line_, 0},
                        "unexpected " + describe(text_[pos_]) +
                            " after a closing quote (a quote inside a quoted field must be "
                            "doubled: \"\")");
  }
}

void CsvReader::read_unquoted(std::string& field) {
  const std::size_t begin = pos_;
  while (pos_ < text_.size() && text_[pos_] != delimiter_ && !at_line_break()) ++pos_;
  field.assign(text_.substr(begin, pos_ - begin));
}

bool CsvReader::next(CsvRecord& record) {
  record.fields.clear();
  while (at_line_break()) skip_line_break();
  if (pos_ >= text_.size()) return false;
  record.line = line_;
  for (;;) {
    std::string field;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      read_quoted(field);
    } else {
      read_unquoted(field);
    }
    record.fields.push_back(std::move(field));
    if (pos_ >= text_.size()) return true;
    if (text_[pos_] == delimiter_) {
      ++pos_;
      continue;
    }
    skip_line_break();
    return true;
  }
}

std::vector<CsvRecord> read_csv(std::string_view text, const std::string& file, char delimiter) {
  CsvReader reader(text, file, delimiter);
  std::vector<CsvRecord> records;
  CsvRecord record;
  while (reader.next(record)) records.push_back(std::move(record));
  return records;
}

}  // namespace medsafe::tabular
