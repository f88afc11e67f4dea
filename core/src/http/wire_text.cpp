// Shared by every HTTP backend; see wire_text.hpp. Model servers and their error pages are
// hostile text: everything that can reach a person goes through excerpt().
#include "medsafe/http/wire_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsafe/text.hpp"

namespace medsafe::http_backend {
namespace {

using nlohmann::json;

// ---- Retry-After ----

std::optional<std::int64_t> parse_int(std::string_view digits) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                      "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 14> kWeekdays = {
    "mon",    "tue",     "wed",       "thu",      "fri",    "sat",      "sun",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t year, std::int64_t month, std::int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const std::int64_t year_of_era = year - era * 400;
  const std::int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// Seconds since the Unix epoch of an HTTP-date in any of its three forms:
//   IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT",
//   asctime "Sun Nov  6 08:49:37 1994". In all three the day number comes before the year.
std::optional<std::int64_t> parse_http_date(std::string_view text) {
  std::vector<std::int64_t> numbers;
  std::int64_t month = 0;
  std::optional<std::array<std::int64_t, 3>> clock;
  std::size_t year_digits = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find_first_of(" ,-", at);
    const std::string_view token =
        text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    if (token.empty()) continue;
    if (token.find(':') != std::string_view::npos) {
      if (token.size() != 8 || token[2] != ':' || token[5] != ':' || clock) return std::nullopt;
      const auto h = parse_int(token.substr(0, 2));
      const auto m = parse_int(token.substr(3, 2));
      const auto s = parse_int(token.substr(6, 2));
      if (!h || !m || !s || *h > 23 || *m > 59 || *s > 60) return std::nullopt;
      clock = std::array<std::int64_t, 3>{*h, *m, *s};
    } else if (all_digits(token)) {
      if (token.size() > 4) return std::nullopt;
      numbers.push_back(*parse_int(token));
      year_digits = token.size();
    } else if (iequals(token, "GMT") || iequals(token, "UTC")) {
      continue;
    } else {
      bool known = false;
      for (std::size_t i = 0; i < kMonths.size() && !known; ++i) {
        if (iequals(token, kMonths[i])) {
          if (month != 0) return std::nullopt;
          month = static_cast<std::int64_t>(i) + 1;
          known = true;
        }
      }
      for (std::string_view day : kWeekdays) known = known || iequals(token, day);
      if (!known) return std::nullopt;
    }
  }
  if (numbers.size() != 2 || month == 0 || !clock) return std::nullopt;
  const std::int64_t day = numbers[0];
  std::int64_t year = numbers[1];
  if (year_digits == 2) {
    year += year < 70 ? 2000 : 1900;  // RFC 850's two-digit years
  } else if (year_digits != 4) {
    return std::nullopt;
  }
  if (day < 1 || day > 31) return std::nullopt;
  const auto& [h, m, s] = *clock;
  return days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s;
}

}  // namespace

void append_json_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, error == std::errc() ? end : buffer);
}

std::optional<std::string> error_message_in(const json& root) {
  const json* text = nullptr;
  if (root.is_string()) {
    text = &root;
  } else if (root.is_object()) {
    const auto error = root.find("error");
    if (error != root.end() && error->is_string()) {
      text = &*error;
    } else if (error != root.end() && error->is_object()) {
      const auto message = error->find("message");
      if (message != error->end() && message->is_string()) text = &*message;
    } else if (const auto message = root.find("message");
               message != root.end() && message->is_string()) {
      text = &*message;
    } else if (const auto detail = root.find("detail");
               detail != root.end() && detail->is_string()) {
      text = &*detail;
    }
  }
  if (text == nullptr) return std::nullopt;
  return excerpt(text->get_ref<const std::string&>());
}

std::string error_message(std::string_view payload) {
  try {
    if (std::optional<std::string> message = error_message_in(json::parse(payload)))
      return *message;
  } catch (const json::exception&) {
    // not JSON: the payload itself is the message
  }
  return excerpt(payload);
}

std::string excerpt(std::string_view text, std::size_t limit) {
  std::string out;
  out.reserve(std::min(text.size(), limit) + 3);
  bool space_pending = false;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto c = static_cast<unsigned char>(text[at]);
    if (c <= 0x20 || c == 0x7F) {
      space_pending = !out.empty();
      ++at;
      continue;
    }
    const std::size_t length = utf8_sequence_length(text, at);
    const std::string_view piece = length == 0 ? std::string_view("?") : text.substr(at, length);
    if (out.size() + piece.size() + (space_pending ? 1 : 0) > limit) {
      out += "...";
      return out;
    }
    if (space_pending) out += ' ';
    space_pending = false;
    out += piece;
    at += length == 0 ? 1 : length;
  }
  return out;
}

std::string quoted_bytes(std::string_view bytes, std::size_t limit) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  out += '"';
  if (bytes.size() > limit) out += "...";
  return out;
}

std::string describe_body(std::string_view content_type, std::uint64_t bytes,
                          std::string_view head) {
  const std::string type = content_type.empty() ? std::string("without a Content-Type")
                                                : "of " + excerpt(content_type, 80);
  if (bytes == 0) return "an empty body " + type;
  return std::to_string(bytes) + (bytes == 1 ? " byte " : " bytes ") + type + ", beginning " +
         quoted_bytes(head);
}

std::optional<double> parse_retry_after(std::string_view value,
                                        std::chrono::system_clock::time_point now) {
  value = trim(value, kAsciiSpace);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    double seconds = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds,
                                              std::chars_format::fixed);
    if (error != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return seconds;
  }
  const std::optional<std::int64_t> date = parse_http_date(value);
  if (!date) return std::nullopt;
  const double now_s =
      std::chrono::duration<double>(now.time_since_epoch()).count();  // system_clock: Unix time
  const double wait = static_cast<double>(*date) - now_s;
  return wait > 0 ? wait : 0.0;
}

}  // namespace medsafe::http_backend
