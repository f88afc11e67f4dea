#pragma once
/// Finding rows of a data set whose text is not valid UTF-8, and saying so once per file: such a
/// row is still asked as it is, but what it says may not be what the data set meant (a file in
/// another encoding), and reports can only show U+FFFD in place of the bad bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/log.hpp"

namespace medsafe::tabular {

/// The byte offset of the first invalid UTF-8 sequence in `text`, or nullopt when it is valid.
[[nodiscard]] std::optional<std::size_t> invalid_utf8_at(std::string_view text) noexcept;

/// Collects the invalid rows of one file and warns about them through a Log.
class Utf8Warnings {
 public:
  /// `suite` names the suite in messages ("suites.quickstart"); `file` the file read.
  Utf8Warnings(std::string suite, std::string file);

  /// Notes the row at `line` when `text` (its column or field `what`) is not valid UTF-8.
  void check(std::uint32_t line, std::string_view what, std::string_view text);
  /// Warns once per row noted (the first few; then how many more), naming the suite, the file
  /// and the line. Nothing when every row was valid or `log` is null.
  void report(Log* log) const;
  /// The rows noted so far.
  [[nodiscard]] std::size_t count() const noexcept { return problems_.size(); }

 private:
  struct Problem {
    std::uint32_t line = 0;
    std::string what;
    std::size_t offset = 0;
    unsigned char byte = 0;
  };
  std::string suite_;
  std::string file_;
  std::vector<Problem> problems_;
};

}  // namespace medsafe::tabular
