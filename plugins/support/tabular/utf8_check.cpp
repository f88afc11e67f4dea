#include "tabular/utf8_check.hpp"

#include <utility>

#include "medsafe/json_text.hpp"

namespace medsafe::tabular {
namespace {

// Rows named one by one; beyond them only their number, so a file in another encoding gives a
// few lines, not one per row.
constexpr std::size_t kRowsNamed = 5;

std::string hex_byte(unsigned char byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("0x") + kHex[byte >> 4U] + kHex[byte & 0xFU];
}

}  // namespace

std::optional<std::size_t> invalid_utf8_at(std::string_view text) noexcept {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = utf8_sequence_length(text, at);
    if (length == 0) return at;
    at += length;
  }
  return std::nullopt;
}

Utf8Warnings::Utf8Warnings(std::string suite, std::string file)
    : suite_(std::move(suite)), file_(std::move(file)) {}

void Utf8Warnings::check(std::uint32_t line, std::string_view what, std::string_view text) {
  const std::optional<std::size_t> at = invalid_utf8_at(text);
  if (!at) return;
  // One note per row: its first bad field is enough to find it.
  if (!problems_.empty() && problems_.back().line == line) return;
  problems_.push_back({line, std::string(what), *at, static_cast<unsigned char>(text[*at])});
}

void Utf8Warnings::report(Log* log) const {
  if (log == nullptr || problems_.empty()) return;
  for (std::size_t i = 0; i < problems_.size() && i < kRowsNamed; ++i) {
    const Problem& p = problems_[i];
    log->warn(suite_, file_ + ":" + std::to_string(p.line) + ": the " + p.what +
                          " is not valid UTF-8 (byte " + hex_byte(p.byte) + " at offset " +
                          std::to_string(p.offset) +
                          "); it is kept as it is, and reports show U+FFFD in its place");
  }
  if (problems_.size() > kRowsNamed) {
    log->warn(suite_, file_ + ": " + std::to_string(problems_.size() - kRowsNamed) +
                          " more rows are not valid UTF-8 (is the file in another encoding? "
                          "save it as UTF-8)");
  }
}

}  // namespace medsafe::tabular
