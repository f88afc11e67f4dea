#pragma once
/// Small text helpers for the ASCII-framed parts of what medsafe reads (headers, CSV cells,
/// configuration values, a judge's output): trimming and ASCII case, written once for the core
/// and every plugin. Bytes outside ASCII pass through unchanged, so UTF-8 text stays valid.
#include <cstddef>
#include <string>
#include <string_view>

namespace medsafe {

/// Space, tab, CR and LF: what trim() takes off by default.
inline constexpr std::string_view kBlanks = " \t\r\n";
/// std::isspace's characters in the "C" locale: kBlanks, form feed and vertical tab.
inline constexpr std::string_view kAsciiSpace = " \t\r\n\f\v";

/// `text` without the leading characters that are in `chars`.
[[nodiscard]] constexpr std::string_view trim_front(std::string_view text,
                                                    std::string_view chars = kBlanks) noexcept {
  const std::size_t begin = text.find_first_not_of(chars);
  return begin == std::string_view::npos ? std::string_view() : text.substr(begin);
}

/// `text` without the trailing characters that are in `chars`.
[[nodiscard]] constexpr std::string_view trim_back(std::string_view text,
                                                   std::string_view chars = kBlanks) noexcept {
  return text.substr(0, text.find_last_not_of(chars) + 1);  // npos + 1 == 0: all of it
}

/// `text` without the leading and trailing characters that are in `chars`.
[[nodiscard]] constexpr std::string_view trim(std::string_view text,
                                              std::string_view chars = kBlanks) noexcept {
  return trim_back(trim_front(text, chars), chars);
}

/// Whether `c` is one of kAsciiSpace.
[[nodiscard]] constexpr bool is_ascii_space(char c) noexcept {
  return kAsciiSpace.find(c) != std::string_view::npos;
}

/// `c` in lower case when it is an ASCII capital, else `c` (whatever the C locale says).
[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// `text` with every ASCII capital in lower case.
[[nodiscard]] inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

/// Whether `a` and `b` are equal but for ASCII case.
[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace medsafe
