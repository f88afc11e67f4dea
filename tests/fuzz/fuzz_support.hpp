#pragma once
/// Helpers shared by the fuzz targets: taking a fuzzer's input apart, checking invariants (a
/// failed check aborts, which libFuzzer and the seed-replay test both report as a failure), and
/// a private folder for targets whose code under test reads files.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace medsafe::fuzz {

/// Prints "file:line: fuzz check failed: what" and the input's size, then aborts.
[[noreturn]] void check_failed(const char* what, const char* file, int line);

/// Aborts (a crash for libFuzzer) when `condition` is false.
#define MEDSAFE_FUZZ_CHECK(condition) \
  ((condition) ? static_cast<void>(0) \
               : ::medsafe::fuzz::check_failed(#condition, __FILE__, __LINE__))

/// The fuzzer's bytes, consumed from the front: option bytes first, then the text under test.
class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size)
      : text_(reinterpret_cast<const char*>(data), size) {}

  /// The next byte, or 0 when none is left.
  std::uint8_t take_byte() noexcept {
    if (text_.empty()) return 0;
    const auto byte = static_cast<std::uint8_t>(text_.front());
    text_.remove_prefix(1);
    return byte;
  }
  /// The next line without its '\n' (the rest when there is no '\n').
  std::string_view take_line() noexcept {
    const std::size_t end = text_.find('\n');
    const std::string_view line = text_.substr(0, end);
    text_.remove_prefix(end == std::string_view::npos ? text_.size() : end + 1);
    return line;
  }
  /// Whether the remaining text starts with `prefix`.
  [[nodiscard]] bool starts_with(std::string_view prefix) const noexcept {
    return text_.starts_with(prefix);
  }
  /// Everything not yet taken.
  [[nodiscard]] std::string_view rest() const noexcept { return text_; }

 private:
  std::string_view text_;
};

/// A folder of this process's own (mode 0700), removed when the process exits.
[[nodiscard]] const std::filesystem::path& scratch_dir();

/// Writes `bytes` to `scratch_dir() / name`, replacing it, and returns the path.
std::filesystem::path write_scratch_file(std::string_view name, std::string_view bytes);

/// True when `text` is valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
[[nodiscard]] bool valid_utf8(std::string_view text) noexcept;

}  // namespace medsafe::fuzz
