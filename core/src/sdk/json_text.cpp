#include "medsafe/json_text.hpp"

#include <cstdint>
#include <optional>
#include <string>

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

std::string json_escaped(std::string_view text, InvalidUtf8 invalid) {
  std::string out;
  append_json_string(out, text, invalid);
  return out.substr(1, out.size() - 2);
}

}  // namespace medsafe

namespace medsafe {
namespace {

constexpr std::size_t kMaxDepth = 128;  // deeper than any answer's envelope; stops a hostile one

// Reads a JSON text that may stop anywhere, collecting the string values at one path. Each
// function returns false to stop: the input ended, it is not JSON, or the text is full.
class PrefixReader {
 public:
  PrefixReader(std::string_view in, const std::vector<std::string_view>& path,
               std::size_t max_bytes)
      : in_(in), path_(path), max_bytes_(max_bytes) {}

  JsonStrings read() {
    (void)value(0, true);
    return std::move(out_);
  }

 private:
  void skip_space() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool value(std::size_t level, bool on_path) {
    if (level > kMaxDepth) return false;
    skip_space();
    if (pos_ >= in_.size()) return false;
    switch (in_[pos_]) {
      case '{':
        return object(level, on_path);
      case '[':
        return array(level, on_path);
      case '"':
        if (on_path && level == path_.size()) {
          ++out_.found;
          return string(&out_.text, true);
        }
        return string(nullptr, false);
      default:
        return literal();
    }
  }

  bool step_matches(std::size_t level, bool on_path, std::string_view name) const {
    return on_path && level < path_.size() && (path_[level] == "*" || path_[level] == name);
  }

  bool object(std::size_t level, bool on_path) {
    ++pos_;
    skip_space();
    if (pos_ < in_.size() && in_[pos_] == '}') {
      ++pos_;
      return true;
    }
    std::string key;
    for (;;) {
      skip_space();
      if (pos_ >= in_.size() || in_[pos_] != '"') return false;
      key.clear();
      if (!string(&key, false)) return false;
      skip_space();
      if (pos_ >= in_.size() || in_[pos_] != ':') return false;
      ++pos_;
      if (!value(level + 1, step_matches(level, on_path, key))) return false;
      skip_space();
      if (pos_ >= in_.size()) return false;
      if (in_[pos_] == '}') {
        ++pos_;
        return true;
      }
      if (in_[pos_] != ',') return false;
      ++pos_;
    }
  }

  bool array(std::size_t level, bool on_path) {
    ++pos_;
    skip_space();
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (std::size_t index = 0;; ++index) {
      if (!value(level + 1, step_matches(level, on_path, std::to_string(index)))) return false;
      skip_space();
      if (pos_ >= in_.size()) return false;
      if (in_[pos_] == ']') {
        ++pos_;
        return true;
      }
      if (in_[pos_] != ',') return false;
      ++pos_;
    }
  }

  bool literal() {
    const std::size_t start = pos_;
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      const bool part = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' ||
                        c == '.' || c == 'E';
      if (!part) break;
      ++pos_;
    }
    return pos_ > start && pos_ < in_.size();
  }

  // Appends to the answer text, within max_bytes; false once it is full.
  bool keep(std::string& into, bool answer, std::string_view piece) {
    if (!answer) {
      // A key: only compared with the path, whose steps are short.
      if (into.size() < 256) into.append(piece.substr(0, 256 - into.size()));
      return true;
    }
    const std::size_t room = max_bytes_ - into.size();
    if (piece.size() <= room) {
      into.append(piece);
      return true;
    }
    into.append(piece.substr(0, utf8_prefix_length(piece, room)));
    out_.complete = false;
    return false;
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  // Four hex digits at in_[at]; nullopt when they are not (or not all there).
  std::optional<std::uint32_t> hex4(std::size_t at) const {
    if (at + 4 > in_.size()) return std::nullopt;
    std::uint32_t code = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
      const char c = in_[i];
      code <<= 4;
      if (c >= '0' && c <= '9') {
        code |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        code |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        code |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    return code;
  }

  // The string at in_[pos_] (its opening quote). Skipped when `into` is null.
  bool string(std::string* into, bool answer) {
    ++pos_;
    std::string scratch;
    std::string& out = into != nullptr ? *into : scratch;
    const bool keep_text = into != nullptr;
    for (;;) {
      const std::size_t stop = in_.find_first_of("\"\\", pos_);
      const std::size_t end = stop == std::string_view::npos ? in_.size() : stop;
      if (keep_text && !keep(out, answer, in_.substr(pos_, end - pos_))) return false;
      pos_ = end;
      if (pos_ >= in_.size()) {
        if (answer) out_.complete = false;  // the input ended inside the answer's text
        return false;
      }
      if (in_[pos_] == '"') {
        ++pos_;
        return true;
      }
      // An escape; cut short by the end of the input, it is dropped.
      if (pos_ + 1 >= in_.size()) {
        if (answer) out_.complete = false;
        return false;
      }
      const char e = in_[pos_ + 1];
      std::string piece;
      std::size_t used = 2;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          piece = std::string(1, e);
          break;
        case 'b':
          piece = "\b";
          break;
        case 'f':
          piece = "\f";
          break;
        case 'n':
          piece = "\n";
          break;
        case 'r':
          piece = "\r";
          break;
        case 't':
          piece = "\t";
          break;
        case 'u': {
          const std::optional<std::uint32_t> code = hex4(pos_ + 2);
          if (!code) {
            if (pos_ + 6 > in_.size() && answer) out_.complete = false;
            return false;
          }
          used = 6;
          std::uint32_t point = *code;
          if (point >= 0xD800 && point <= 0xDBFF) {
            // A high surrogate wants "\uDC00".."\uDFFF" next; without it, U+FFFD. Whether it
            // has one cannot be told when the input ends first.
            const bool escape_next = pos_ + 6 < in_.size() && in_[pos_ + 6] == '\\';
            if (pos_ + 6 >= in_.size() || (escape_next && pos_ + 12 > in_.size())) {
              if (answer) out_.complete = false;
              return false;
            }
            const std::optional<std::uint32_t> low =
                escape_next && in_[pos_ + 7] == 'u' ? hex4(pos_ + 8) : std::nullopt;
            if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
              point = 0x10000 + ((point - 0xD800) << 10) + (*low - 0xDC00);
              used = 12;
            } else {
              point = 0xFFFD;
            }
          } else if (point >= 0xDC00 && point <= 0xDFFF) {
            point = 0xFFFD;
          }
          append_utf8(piece, point);
          break;
        }
        default:
          return false;  // not JSON
      }
      if (keep_text && !keep(out, answer, piece)) return false;
      pos_ += used;
    }
  }

  std::string_view in_;
  const std::vector<std::string_view>& path_;
  std::size_t max_bytes_;
  std::size_t pos_ = 0;
  JsonStrings out_;
};

}  // namespace

std::size_t utf8_prefix_length(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text.size();
  // The sequence that the cut falls in starts at most three bytes before it.
  std::size_t lead = max_bytes;
  while (lead > 0 && max_bytes - lead < 3 &&
         (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) {
    --lead;
  }
  const std::size_t length = utf8_sequence_length(text, lead);
  return length != 0 && lead < max_bytes && lead + length > max_bytes ? lead : max_bytes;
}

JsonStrings json_strings_at(std::string_view json, const std::vector<std::string_view>& path,
                            std::size_t max_bytes) {
  return PrefixReader(json, path, max_bytes).read();
}

}  // namespace medsafe
