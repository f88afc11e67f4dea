#include "medsafe/json_text.hpp"

namespace medsafe {

std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char low = 0x80;  // allowed range of the second byte (excludes overlongs, surrogates)
  unsigned char high = 0xBF;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

void append_json_string(std::string& out, std::string_view text, InvalidUtf8 invalid) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool check_utf8 = invalid == InvalidUtf8::replace;
  out += '"';
  std::size_t at = 0;
  while (at < text.size()) {
    // Plain text goes in as one run; only the rest is looked at byte by byte. Prompts and
    // answers are mostly such runs, and this is on every request and every stream event.
    const std::size_t run = at;
    while (at < text.size()) {
      const auto c = static_cast<unsigned char>(text[at]);
      if (c < 0x20 || c == '"' || c == '\\' || (check_utf8 && c >= 0x80)) break;
      ++at;
    }
    out.append(text.substr(run, at - run));
    if (at == text.size()) break;
    const auto c = static_cast<unsigned char>(text[at]);
    if (c >= 0x80) {  // only when checking UTF-8
      const std::size_t length = utf8_sequence_length(text, at);
      if (length == 0) {
        out += "\xEF\xBF\xBD";
        ++at;
      } else {
        out.append(text.substr(at, length));
        at += length;
      }
      continue;
    }
    ++at;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out += '"';
}

}  // namespace medsafe
