#pragma once
/// JSON string literals as medsafe writes them: request bodies, configuration fingerprints and
/// the simulated server's answers all go through these, so they escape alike.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

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

/// Length of the valid UTF-8 sequence starting at text[at], or 0 when it is not valid
/// (overlong forms, UTF-16 surrogates, beyond U+10FFFF and cut sequences are not).
[[nodiscard]] MEDSAFE_API std::size_t utf8_sequence_length(std::string_view text,
                                                           std::size_t at) noexcept;

}  // namespace medsafe
