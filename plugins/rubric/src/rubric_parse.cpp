#include "rubric_parse.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "medsafe/text.hpp"

namespace medsafe::rubric {
namespace {

constexpr std::array<std::string_view, 2> kScoreMarkers = {"#score:", "#thescore:"};
constexpr std::array<std::string_view, 2> kReasonMarkers = {"#reason:", "#thereason:"};
constexpr std::size_t kShownChars = 40;

// Markdown emphasis a judge may wrap its score in ("**4**", "_4_", "`4`").
constexpr std::string_view kEmphasis = "*_`";
// What is taken off both ends of a score or reason: blanks and emphasis.
constexpr std::string_view kBlanksAndEmphasis = " \t\r\n\f\v*_`";

bool is_emphasis(char c) noexcept { return kEmphasis.find(c) != std::string_view::npos; }

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// What may end the score's line: "#score: 4.", "#score: **4**", "#score: 4/5!".
bool is_trailing(char c) noexcept {
  return is_ascii_space(c) || is_emphasis(c) || c == '.' || c == ',' || c == ';' || c == ':' ||
         c == '!' || c == ')' || c == ']' || c == '"' || c == '\'';
}

bool matches_at(std::string_view text, std::size_t at, std::string_view marker) noexcept {
  if (at + marker.size() > text.size()) return false;
  for (std::size_t i = 0; i < marker.size(); ++i) {
    if (ascii_lower(text[at + i]) != marker[i]) return false;
  }
  return true;
}

struct Marker {
  std::size_t begin = std::string_view::npos;  ///< where the marker starts
  std::size_t end = std::string_view::npos;    ///< just after it
};

// The last occurrence of any of `markers` that starts before `before` (case-insensitive).
template <std::size_t N>
Marker find_last(std::string_view text, const std::array<std::string_view, N>& markers,
                 std::size_t before) noexcept {
  for (std::size_t at = std::min(before, text.size()); at-- > 0;) {
    if (text[at] != '#') continue;
    for (const std::string_view marker : markers) {
      if (matches_at(text, at, marker)) return Marker{at, at + marker.size()};
    }
  }
  return {};
}

enum class Problem : std::uint8_t { none, empty, no_marker, no_value, bad_value };

struct Scan {
  std::optional<int> score;
  Problem problem = Problem::none;
  std::string_view value;  ///< the rest of the marker's line, for messages
};

Scan scan(std::string_view output) noexcept {
  if (trim(output, kBlanksAndEmphasis).empty()) return {std::nullopt, Problem::empty, {}};
  const Marker marker = find_last(output, kScoreMarkers, output.size());
  if (marker.begin == std::string_view::npos) return {std::nullopt, Problem::no_marker, {}};
  std::size_t pos = marker.end;
  while (pos < output.size() && (is_ascii_space(output[pos]) || is_emphasis(output[pos]))) ++pos;
  const std::size_t line_end = std::min(output.find('\n', pos), output.size());
  const std::string_view value = output.substr(pos, line_end - pos);
  if (pos >= output.size()) return {std::nullopt, Problem::no_value, {}};
  const Scan bad{std::nullopt, Problem::bad_value, value};
  // Exactly one digit: "10" and "45" are not scores.
  if (!is_digit(output[pos]) || (pos + 1 < output.size() && is_digit(output[pos + 1]))) return bad;
  const int score = output[pos] - '0';
  if (score < 1 || score > 5) return bad;
  ++pos;
  if (pos + 1 < output.size() && output[pos] == '.' && is_digit(output[pos + 1])) return bad;
  // Optional "/5" (blanks and emphasis allowed around the slash: "**4** / 5").
  std::size_t after = pos;
  while (after < output.size() && (output[after] == ' ' || is_emphasis(output[after]))) ++after;
  if (after < output.size() && output[after] == '/') {
    ++after;
    while (after < output.size() && output[after] == ' ') ++after;
    if (after >= output.size() || output[after] != '5' ||
        (after + 1 < output.size() && is_digit(output[after + 1]))) {
      return bad;
    }
    pos = after + 1;
  }
  for (; pos < output.size() && output[pos] != '\n'; ++pos) {
    if (!is_trailing(output[pos])) return bad;
  }
  return {score, Problem::none, {}};
}

}  // namespace

std::optional<int> parse_rubric_score(std::string_view output) noexcept {
  return scan(output).score;
}

std::string rubric_parse_problem(std::string_view output) {
  const Scan result = scan(output);
  switch (result.problem) {
    case Problem::none:
      return {};
    case Problem::empty:
      return "the judge's output is empty";
    case Problem::no_marker:
      return "the judge's output has no '#score:' line";
    case Problem::no_value:
      return "the last '#score:' is not followed by a score";
    case Problem::bad_value: {
      std::string shown(trim(result.value, kBlanksAndEmphasis).substr(0, kShownChars));
      if (trim(result.value, kBlanksAndEmphasis).size() > kShownChars) shown += "...";
      return "the last '#score:' is followed by '" + shown + "', not an integer from 1 to 5";
    }
  }
  return {};
}

std::string extract_rubric_reason(std::string_view output) {
  const Marker score = find_last(output, kScoreMarkers, output.size());
  const std::size_t limit = score.begin == std::string_view::npos ? output.size() : score.begin;
  const Marker reason = find_last(output, kReasonMarkers, limit);
  const std::size_t begin = reason.begin == std::string_view::npos ? 0 : reason.end;
  return std::string(trim(output.substr(begin, limit - begin), kBlanksAndEmphasis));
}

std::string strip_fenced(std::string_view output, std::string_view fence) {
  if (fence.empty()) return std::string(output);
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = output.find(fence, pos);
    const std::size_t close =
        open == std::string_view::npos ? open : output.find(fence, open + fence.size());
    if (close == std::string_view::npos) break;
    out.append(output, pos, open - pos);
    pos = close + fence.size();
  }
  out.append(output.substr(pos));
  return out;
}

}  // namespace medsafe::rubric
