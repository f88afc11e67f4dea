#include "answer_structure.hpp"

#include <algorithm>

#include "medsafe/text.hpp"

namespace medsafe::refusal {
namespace {

constexpr std::size_t kBracketedName = 40;  // "(🔓Developer Mode Output)" with its emoji bytes
constexpr std::size_t kPlainName = 24;      // "TB (ENGLISH)", "The Cop", "ChatGPT 🤖"
constexpr std::size_t kNameWords = 3;       // longer runs before a colon are sentences

bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_letter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Markdown and quotation marks that may stand before a speaker's name.
bool is_lead_mark(char c) noexcept {
  return c == ' ' || c == '\t' || c == '>' || c == '*' || c == '_' || c == '#' || c == '`' ||
         c == '"';
}

bool starts_with_bullet(std::string_view text, std::size_t at) noexcept {
  if (at >= text.size()) return false;
  if (text[at] == '-' || text[at] == '*' || text[at] == '+') return true;
  return text.substr(at, 3) == "\xE2\x80\xA2";  // U+2022 •
}

// "step" (any case) as a word at `at`: "Step 3: mix them" is an instruction, not a speaker.
bool is_step_word(std::string_view text, std::size_t at) noexcept {
  static constexpr std::string_view kStep = "step";
  if (text.size() - at < kStep.size()) return false;
  for (std::size_t i = 0; i < kStep.size(); ++i) {
    if (ascii_lower(text[at + i]) != kStep[i]) return false;
  }
  return at + kStep.size() >= text.size() || !is_letter(text[at + kStep.size()]);
}

// Where the speaker's own words start when a tag begins at `at` (a line's first mark), else 0.
std::size_t tag_end(std::string_view text, std::size_t at) noexcept {
  const std::size_t line_end = std::min(text.find('\n', at), text.size());
  if (text[at] == '[' || text[at] == '(') {
    for (std::size_t q = at + 1; q < line_end && q <= at + kBracketedName + 1; ++q) {
      if (text[q] == '[' || text[q] == '(') return 0;
      if (text[q] != ']' && text[q] != ')') continue;
      if (q == at + 1) return 0;
      return q + 1 < line_end && text[q + 1] == ':' ? q + 2 : q + 1;
    }
    return 0;
  }
  if (is_blank(text[at]) || text[at] == ':' || is_digit(text[at]) || starts_with_bullet(text, at) ||
      is_step_word(text, at)) {
    return 0;
  }
  const std::size_t colon = text.find(':', at);
  if (colon == std::string_view::npos || colon >= line_end || colon - at >= kPlainName) return 0;
  std::size_t words = 0;
  bool in_word = false;
  for (std::size_t i = at; i < colon; ++i) {
    if (is_blank(text[i])) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      ++words;
    }
  }
  if (words > kNameWords) return 0;
  // A speaker says something on the tag's line; "https://..." is an address.
  std::size_t after = colon + 1;
  if (after < line_end && text[after] == '/') return 0;
  while (after < line_end && is_blank(text[after])) ++after;
  return after < line_end ? colon + 1 : 0;
}

}  // namespace

std::vector<Segment> split_speakers(std::string_view text) {
  std::vector<Segment> tags;
  for (std::size_t line = 0; line < text.size();) {
    std::size_t at = line;
    while (at < text.size() && is_lead_mark(text[at])) ++at;
    if (at < text.size() && text[at] != '\n') {
      if (const std::size_t body = tag_end(text, at); body != 0) {
        tags.push_back(Segment{line, text.size(), body});
      }
    }
    const std::size_t next = text.find('\n', line);
    if (next == std::string_view::npos) break;
    line = next + 1;
  }
  if (tags.size() < 2) return {Segment{0, text.size(), 0}};
  for (std::size_t i = 0; i + 1 < tags.size(); ++i) tags[i].end = tags[i + 1].begin;
  std::vector<Segment> segments;
  if (count_words(text.substr(0, tags.front().begin), 1) > 0) {
    segments.push_back(Segment{0, tags.front().begin, 0});
  }
  segments.insert(segments.end(), tags.begin(), tags.end());
  return segments;
}

std::size_t count_words(std::string_view text, std::size_t enough) noexcept {
  std::size_t words = 0;
  bool in_word = false;
  for (const char c : text) {
    if (is_blank(c)) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      if (++words >= enough) break;
    }
  }
  return words;
}

std::size_t count_list_items(std::string_view text) noexcept {
  std::size_t items = 0;
  for (std::size_t line = 0; line < text.size();) {
    std::size_t at = line;
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    std::size_t marker = 0;  // bytes of the item's marker
    if (starts_with_bullet(text, at)) {
      marker = text[at] == '\xE2' ? 3 : 1;
    } else {
      std::size_t digits = 0;
      while (at + digits < text.size() && is_digit(text[at + digits]) && digits < 3) ++digits;
      if (digits > 0 && at + digits < text.size() &&
          (text[at + digits] == '.' || text[at + digits] == ')')) {
        marker = digits + 1;
      }
    }
    const std::size_t after = at + marker;
    if (marker > 0 && after + 1 < text.size() && (text[after] == ' ' || text[after] == '\t') &&
        !is_blank(text[after + 1])) {
      ++items;
    }
    const std::size_t next = text.find('\n', line);
    if (next == std::string_view::npos) break;
    line = next + 1;
  }
  return items;
}

}  // namespace medsafe::refusal
