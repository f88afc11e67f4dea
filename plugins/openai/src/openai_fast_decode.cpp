// The fast path of chunk decoding. A stream of N tokens is N chunks, each decoded on the I/O
// thread that owns the exchange, so a document-building parser there (several microseconds per
// chunk, mostly allocations) caps the token rate medsafe can measure. This scanner validates
// JSON strictly but only keeps the few fields it needs, and declines anything unusual: declining
// is always safe, because the caller then runs the full parser, which is the reference.
#include "openai_fast_decode.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

namespace medsafe::openai::detail {
namespace {

constexpr int kMaxDepth = 64;

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  char next() {
    skip_space();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    if (next() != c) return false;
    ++pos_;
    return true;
  }

  bool at_end() { return next() == '\0' && pos_ == text_.size(); }

  // A JSON string (its opening quote next), unescaped into `out` (null: only checked).
  bool string(std::string* out) {
    if (!consume('"')) return false;
    std::size_t run = pos_;
    while (pos_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        if (out != nullptr) out->append(text_.substr(run, pos_ - run));
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (out != nullptr) out->append(text_.substr(run, pos_ - run));
        ++pos_;
        if (!escape(out)) return false;
        run = pos_;
      } else if (c < 0x20) {
        return false;
      } else if (c >= 0x80) {
        const std::size_t length = utf8_sequence_length(text_, pos_);
        if (length == 0) return false;
        pos_ += length;
      } else {
        ++pos_;
      }
    }
    return false;
  }

  // A JSON number, checked against the grammar; `integer` gets its value when it is an
  // integer literal that fits int64 (else it is left empty).
  bool number(std::optional<std::int64_t>* integer) {
    skip_space();
    const std::size_t begin = pos_;
    bool negative = false;
    if (pos_ < text_.size() && text_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    if (pos_ >= text_.size() || !digit(text_[pos_])) return false;
    if (text_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < text_.size() && digit(text_[pos_])) ++pos_;
    }
    const std::size_t integer_end = pos_;
    bool fraction = false;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      fraction = true;
      ++pos_;
      if (!digits()) return false;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      fraction = true;
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!digits()) return false;
    }
    const std::size_t digit_count = integer_end - begin - (negative ? 1 : 0);
    // The full parser fails on numbers that overflow a double; long or non-integer literals are
    // checked the same way (underflow is declined too: declining is always safe).
    if ((fraction || digit_count > 18) && !finite_double(begin, pos_)) return false;
    if (integer != nullptr && !fraction) {
      *integer = to_int64(begin + (negative ? 1 : 0), integer_end, negative);
    }
    return true;
  }

  // Any JSON value, checked and thrown away.
  bool skip_value(int depth) {
    if (depth > kMaxDepth) return false;
    switch (next()) {
      case '"':
        return string(nullptr);
      case '{':
        ++pos_;
        if (consume('}')) return true;
        do {
          if (!string(nullptr) || !consume(':') || !skip_value(depth + 1)) return false;
        } while (consume(','));
        return consume('}');
      case '[':
        ++pos_;
        if (consume(']')) return true;
        do {
          if (!skip_value(depth + 1)) return false;
        } while (consume(','));
        return consume(']');
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number(nullptr);
    }
  }

  bool literal(std::string_view word) {
    if (next() != word[0] || text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

 private:
  static bool digit(char c) { return c >= '0' && c <= '9'; }

  bool digits() {
    const std::size_t begin = pos_;
    while (pos_ < text_.size() && digit(text_[pos_])) ++pos_;
    return pos_ > begin;
  }

  bool finite_double(std::size_t begin, std::size_t end) const {
    double value = 0;
    const auto [stop, error] = std::from_chars(text_.data() + begin, text_.data() + end, value);
    return error == std::errc() && stop == text_.data() + end;
  }

  std::optional<std::int64_t> to_int64(std::size_t begin, std::size_t end, bool negative) const {
    constexpr std::uint64_t kLimit = std::numeric_limits<std::int64_t>::max();
    std::uint64_t value = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const auto d = static_cast<std::uint64_t>(text_[i] - '0');
      if (value > (kLimit - d) / 10) return std::nullopt;  // beyond int64: let the full parser say
      value = value * 10 + d;
    }
    const auto signed_value = static_cast<std::int64_t>(value);
    return negative ? -signed_value : signed_value;
  }

  bool hex4(std::uint32_t& out) {
    if (pos_ + 4 > text_.size()) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }

  // One escape, the backslash already consumed.
  bool escape(std::string* out) {
    if (pos_ >= text_.size()) return false;
    const char c = text_[pos_++];
    char plain = 0;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        plain = c;
        break;
      case 'b':
        plain = '\b';
        break;
      case 'f':
        plain = '\f';
        break;
      case 'n':
        plain = '\n';
        break;
      case 'r':
        plain = '\r';
        break;
      case 't':
        plain = '\t';
        break;
      case 'u':
        return unicode_escape(out);
      default:
        return false;
    }
    if (out != nullptr) out->push_back(plain);
    return true;
  }

  bool unicode_escape(std::string* out) {
    std::uint32_t code = 0;
    if (!hex4(code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) return false;  // a lone low surrogate
    if (code >= 0xD800 && code <= 0xDBFF) {
      std::uint32_t low = 0;
      if (text_.substr(pos_, 2) != "\\u") return false;
      pos_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    if (out != nullptr) append_utf8(*out, code);
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
    const auto byte = [](std::uint32_t v) {
      return static_cast<char>(static_cast<unsigned char>(v));
    };
    if (code < 0x80) {
      out.push_back(byte(code));
    } else if (code < 0x800) {
      out.push_back(byte(0xC0 | (code >> 6)));
      out.push_back(byte(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(byte(0xE0 | (code >> 12)));
      out.push_back(byte(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(byte(0x80 | (code & 0x3F)));
    } else {
      out.push_back(byte(0xF0 | (code >> 18)));
      out.push_back(byte(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(byte(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(byte(0x80 | (code & 0x3F)));
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// The fields of one choice; kept apart until the choice is known to be choice 0.
struct Choice {
  std::optional<std::int64_t> index;
  bool has_part = false;
  std::string content;
  std::string reasoning_content;
  std::string reasoning;
  bool tool_calls = false;
  std::string finish_reason;
};

// A string-or-null field appended to `target`; each key may appear once.
bool string_or_null(Scanner& s, std::string& target, bool& seen) {
  if (seen) return false;
  seen = true;
  if (s.next() == 'n') return s.literal("null");
  return s.next() == '"' && s.string(&target);
}

bool read_part(Scanner& s, Choice& choice) {
  if (s.next() == 'n') return s.literal("null");
  if (!s.consume('{')) return false;
  choice.has_part = true;
  if (s.consume('}')) return true;
  bool content = false;
  bool reasoning_content = false;
  bool reasoning = false;
  bool tool_calls = false;
  std::string key;
  do {
    key.clear();
    if (!s.string(&key) || !s.consume(':')) return false;
    bool ok = true;
    if (key == "content") {
      ok = string_or_null(s, choice.content, content);
    } else if (key == "reasoning_content") {
      ok = string_or_null(s, choice.reasoning_content, reasoning_content);
    } else if (key == "reasoning") {
      ok = string_or_null(s, choice.reasoning, reasoning);
    } else if (key == "tool_calls") {
      if (tool_calls) return false;
      tool_calls = true;
      if (s.next() == 'n') {
        ok = s.literal("null");
      } else if (!s.consume('[')) {
        ok = false;
      } else if (!s.consume(']')) {
        choice.tool_calls = true;  // non-empty: its elements are skipped, only checked
        do {
          if (!s.skip_value(3)) return false;
        } while (s.consume(','));
        ok = s.consume(']');
      }
    } else {
      ok = s.skip_value(3);
    }
    if (!ok) return false;
  } while (s.consume(','));
  return s.consume('}');
}

bool read_choice(Scanner& s, Choice& choice, const char* part) {
  if (!s.consume('{')) return false;
  if (s.consume('}')) return true;
  bool index = false;
  bool finish = false;
  bool body = false;
  std::string key;
  do {
    key.clear();
    if (!s.string(&key) || !s.consume(':')) return false;
    bool ok = true;
    if (key == "index") {
      if (index) return false;
      index = true;
      ok = s.number(&choice.index) && choice.index.has_value();
    } else if (key == "finish_reason") {
      ok = string_or_null(s, choice.finish_reason, finish);
    } else if (key == part) {
      if (body) return false;
      body = true;
      ok = read_part(s, choice);
    } else {
      ok = s.skip_value(2);
    }
    if (!ok) return false;
  } while (s.consume(','));
  return s.consume('}');
}

bool read_choices(Scanner& s, Decoded& out, bool stream) {
  if (!s.consume('[')) return false;  // null or another type: the full parser decides
  if (s.consume(']')) return stream;  // an empty array is an error only for a body
  const char* part = stream ? "delta" : "message";
  bool taken = false;
  do {
    Choice choice;
    if (!read_choice(s, choice, part)) return false;
    if (taken || (choice.index && *choice.index != 0)) continue;
    if (!stream && !choice.has_part) return false;
    taken = true;
    out.content = std::move(choice.content);
    out.reasoning = std::move(choice.reasoning_content);
    out.reasoning += choice.reasoning;
    out.tool_calls = choice.tool_calls;
    out.finish_reason = std::move(choice.finish_reason);
  } while (s.consume(','));
  return s.consume(']');
}

bool read_count(Scanner& s, std::int64_t& target, bool& seen) {
  if (seen) return false;
  seen = true;
  if (s.next() == 'n') return s.literal("null");
  std::optional<std::int64_t> value;
  if (!s.number(&value) || !value || *value < 0) return false;
  target = *value;
  return true;
}

bool read_usage(Scanner& s, Decoded& out) {
  if (s.next() == 'n') return s.literal("null");
  if (!s.consume('{')) return false;
  if (s.consume('}')) return true;
  bool prompt = false;
  bool completion = false;
  std::string key;
  do {
    key.clear();
    if (!s.string(&key) || !s.consume(':')) return false;
    bool ok = true;
    if (key == "prompt_tokens") {
      ok = read_count(s, out.prompt_tokens, prompt);
    } else if (key == "completion_tokens") {
      ok = read_count(s, out.completion_tokens, completion);
    } else {
      ok = s.skip_value(2);
    }
    if (!ok) return false;
  } while (s.consume(','));
  return s.consume('}');
}

}  // namespace

std::optional<Decoded> fast_decode(std::string_view text, bool stream) {
  Scanner s(text);
  Decoded out;
  if (!s.consume('{')) return std::nullopt;
  bool choices = false;
  bool usage = false;
  if (!s.consume('}')) {
    std::string key;
    do {
      key.clear();
      if (!s.string(&key) || !s.consume(':')) return std::nullopt;
      bool ok = true;
      if (key == "error") {
        return std::nullopt;  // error objects are rare: the full parser reads their message
      } else if (key == "object") {
        std::string value;
        ok = s.next() == '"' ? s.string(&value) && value != "error" : s.skip_value(1);
      } else if (key == "choices") {
        ok = !choices && read_choices(s, out, stream);
        choices = true;
      } else if (key == "usage") {
        ok = !usage && read_usage(s, out);
        usage = true;
      } else {
        ok = s.skip_value(1);
      }
      if (!ok) return std::nullopt;
    } while (s.consume(','));
    if (!s.consume('}')) return std::nullopt;
  }
  if (!s.at_end() || (!stream && !choices)) return std::nullopt;
  return out;
}

}  // namespace medsafe::openai::detail
