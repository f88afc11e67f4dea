#pragma once
/// JSON string literals as medsafe writes them: request bodies, configuration fingerprints and
/// the simulated server's answers all go through these, so they escape alike.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/export.hpp"

namespace medsafe {

/// What append_json_string does with bytes that are not valid UTF-8.
enum class InvalidUtf8 : std::uint8_t {
  keep,     ///< copied as they are: the bytes must not change (fingerprints)
  replace,  ///< each becomes U+FFFD, so the literal is valid JSON (prompts from data sets)
};

/// Appends `text` as a JSON string literal, quotes included: `"` and `\` escaped, control
/// characters as \n, \r, \t or \u00XX, every other byte as it is, except invalid UTF-8 when
/// `invalid` says replace.
MEDSAFE_API void append_json_string(std::string& out, std::string_view text,
                                    InvalidUtf8 invalid = InvalidUtf8::keep);

/// What append_json_string writes between the quotes: the form `text` takes inside a JSON
/// string literal.
[[nodiscard]] MEDSAFE_API std::string json_escaped(std::string_view text,
                                                   InvalidUtf8 invalid = InvalidUtf8::keep);

/// Length of the valid UTF-8 sequence starting at text[at], or 0 when it is not valid
/// (overlong forms, UTF-16 surrogates, beyond U+10FFFF and cut sequences are not).
[[nodiscard]] MEDSAFE_API std::size_t utf8_sequence_length(std::string_view text,
                                                           std::size_t at) noexcept;

/// The length of the longest beginning of `text` of at most `max_bytes` bytes that does not end
/// inside a valid UTF-8 sequence (bytes that are not valid UTF-8 count one by one).
[[nodiscard]] MEDSAFE_API std::size_t utf8_prefix_length(std::string_view text,
                                                         std::size_t max_bytes) noexcept;

/// String values read from a JSON text that may stop anywhere (one that outgrew its bound).
struct JsonStrings {
  std::string text;       ///< the values found, decoded and concatenated in document order
  std::size_t found = 0;  ///< how many values the path reached (the last one may be cut)
  bool complete = true;   ///< false when the input or `max_bytes` ended inside a value
};

/// Decodes the string values at `path` in `json`, a JSON text or only its beginning. Each step
/// of the path is an object key, an array index ("0") or "*" (every key or index); e.g.
/// {"choices", "0", "message", "content"}. Reads until the input ends, stops being JSON, or
/// `max_bytes` of text are kept (the last value cut at a UTF-8 boundary). Never throws.
[[nodiscard]] MEDSAFE_API JsonStrings json_strings_at(std::string_view json,
                                                      const std::vector<std::string_view>& path,
                                                      std::size_t max_bytes);

}  // namespace medsafe
